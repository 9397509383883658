//! Embeds every `rules/*.toml` file of the workspace in the library, converted to JSON.
//!
//! Every scan starts by loading the built-in rules. Parsing their 440 KB of TOML took 8.4-8.8 ms
//! in a fresh process, most of a tiny scan's start-up (20 ms at most, issue 12); the same rules as
//! JSON load in about a third of that. The files are parsed here, at build time, so a file that
//! does not parse fails the build with the parser's message; their rules are checked when they
//! load, as any rules file's are. The TOML text is embedded too, only to name the line of a rule
//! that does not follow the schema (JSON positions would point into the converted text).

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let rules_dir = manifest.join("../../rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&rules_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// The embedded rule files: (file name, TOML text, the same as JSON).\npub(crate) static FILES: &[(&str, &str, &str)] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("file has a name").to_string_lossy();
        let text = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let value: toml::Table = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{e}", path.display()));
        let json = serde_json::to_string(&value).expect("a TOML table serialises to JSON");
        let abs = fs::canonicalize(path).expect("rule file path resolves");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?}), {json:?}),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_rules.rs");
    fs::write(dest, out).expect("write builtin_rules.rs");
}
