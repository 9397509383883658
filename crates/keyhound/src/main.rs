//! keyhound: find exposed secrets of non-human identities.
//!
//! The binary only runs the command line of the `keyhound` library and turns an error into
//! exit code 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    match keyhound::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keyhound: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
