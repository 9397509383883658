#!/usr/bin/env python3
"""Times `keyhound scan FILE -j 1` as users run it: process start to exit, cold, over one large
file of each corpus, and the start-up of a scan of a tiny tree.

Corpora (built in a temporary directory, never committed):
  sparse  the .rs files under a cargo registry source cache (default ~/.cargo/registry/src),
          concatenated in sorted order, repeated up to --sparse-mb megabytes;
  dense   git's own .c/.h/.sh/.txt sources (a checkout given with --git-src), concatenated in
          sorted order and repeated ten times, as in issue 12.

For each, the CPU time (user + system, from wait4) of every run is reported with the minimum and
the median: on a shared machine the wall clock counts other processes' turns, CPU time much less.

  python3 benches/cli-throughput.py --keyhound target/release/keyhound --git-src /tmp/git
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def concat(paths, out, limit, repeat):
    written = 0
    with open(out, "wb") as sink:
        for _ in range(repeat):
            for path in paths:
                with open(path, "rb") as f:
                    data = f.read()
                if limit and written + len(data) > limit:
                    data = data[: limit - written]
                sink.write(data)
                written += len(data)
                if limit and written >= limit:
                    return written
    return written


def files_under(root, suffixes):
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(suffixes):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


def run(cmd):
    """Runs cmd; returns (cpu seconds, wall seconds, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return usage.ru_utime + usage.ru_stime, wall, os.waitstatus_to_exitcode(status)


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return "unknown"
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    simd = [f for f in ("sse4_2", "avx2", "bmi2", "avx512bw", "avx512vbmi") if f in flags]
    return f"{model}; {' '.join(simd)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keyhound", default="target/release/keyhound")
    ap.add_argument("--git-src", help="a checkout of git/git (the dense corpus)")
    ap.add_argument("--registry", default=os.path.expanduser("~/.cargo/registry/src"))
    ap.add_argument("--sparse-mb", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()

    print(f"CPU: {cpu_features()}")
    with tempfile.TemporaryDirectory() as tmp:
        corpora = []
        rs = files_under(args.registry, (".rs",))
        if rs:
            path = os.path.join(tmp, "sparse.txt")
            corpora.append(("sparse (cargo registry .rs)", path, concat(rs, path, args.sparse_mb << 20, 1000)))
        if args.git_src:
            src = files_under(args.git_src, (".c", ".h", ".sh", ".txt"))
            path = os.path.join(tmp, "dense.txt")
            corpora.append(("dense (git .c/.h/.sh/.txt x10)", path, concat(src, path, 0, 10)))
        tiny = os.path.join(tmp, "tiny")
        os.makedirs(tiny)
        with open(os.path.join(tiny, "main.rs"), "w") as f:
            f.write('fn main() { println!("hello"); }\n')

        for label, path, size in corpora:
            cmd = [args.keyhound, "scan", path, "-j", args.threads, "--max-file-size", "0", "-f", "json", "-o", os.devnull]
            run(cmd)  # warm the page cache; the process itself starts cold every run
            results = [run(cmd) for _ in range(args.runs)]
            cpu = sorted(r[0] for r in results)
            wall = sorted(r[1] for r in results)
            codes = {r[2] for r in results}
            print(
                f"{label}: {size / 1e6:.0f} MB, -j {args.threads}, {args.runs} runs, exit {codes}: "
                f"CPU min {cpu[0]:.3f} s ({size / cpu[0] / 1e9:.2f} GB/s), "
                f"median {statistics.median(cpu):.3f} s ({size / statistics.median(cpu) / 1e9:.2f} GB/s); "
                f"wall min {wall[0]:.3f} s, median {statistics.median(wall):.3f} s"
            )
        cmd = [args.keyhound, "scan", tiny, "-f", "json", "-o", os.devnull]
        results = [run(cmd) for _ in range(max(args.runs, 10))]
        wall = sorted(r[1] for r in results)
        cpu = sorted(r[0] for r in results)
        print(
            f"tiny tree start-up: wall min {wall[0] * 1e3:.1f} ms, median {statistics.median(wall) * 1e3:.1f} ms; "
            f"CPU min {cpu[0] * 1e3:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
