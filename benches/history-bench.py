#!/usr/bin/env python3
"""Full-history scan: keyhound against gitleaks and Kingfisher on a large synthetic repository.

Builds (once, cached in DIR) a git repository of COMMITS commits whose blobs are real text from
this machine (the cargo registry sources: Rust, TOML, Markdown, JSON, YAML), each commit
rewriting a few files, with a fake credential planted every SECRET_EVERY commits. Then runs each
scanner over the full history under `/usr/bin/time -v` and prints wall time, peak memory and
the number of planted secrets each one found.

    python3 benches/history-bench.py [--dir /tmp/keyhound-history] [--commits 20000]
        [--gitleaks PATH] [--kingfisher PATH]

With `--repo PATH` it measures an existing repository instead (a real one: e.g. a bare clone
of git/git), and reports findings rather than planted secrets. Each scanner runs `--runs`
times; the table gives the fastest run's wall and CPU time (user + system) and its peak memory,
and keyhound's own split (`--stats`) between the blob pass and the lifecycle walk.

Building uses `git fast-import`, then `git repack` so the pack has the layout of a clone
(benchmark tooling only: keyhound itself reads with gix).
"""
import argparse
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits


def pool_files():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    out = []
    for root, dirs, files in os.walk(os.path.join(home, "registry", "src")):
        dirs.sort()
        for name in sorted(files):
            if name.rsplit(".", 1)[-1] in ("rs", "toml", "md", "json", "yml", "yaml"):
                path = os.path.join(root, name)
                if 200 < os.path.getsize(path) < 400_000:
                    out.append(path)
    return out


def github_pat(rng):
    payload = "".join(rng.choice(ALNUM) for _ in range(30))
    crc = zlib.crc32(payload.encode())
    digits = ""
    for _ in range(6):
        digits = B62[crc % 62] + digits
        crc //= 62
    return "ghp_" + payload + digits


def fake_secret(rng, i):
    kind = i % 3
    if kind == 0:
        return f"GITHUB_TOKEN={github_pat(rng)}"
    if kind == 1:
        return "STRIPE_SECRET_KEY=sk_live_" + "".join(rng.choice(ALNUM) for _ in range(32))
    return "SLACK_BOT_TOKEN=xoxb-%s-%s-%s" % (
        "".join(rng.choice(string.digits) for _ in range(12)),
        "".join(rng.choice(string.digits) for _ in range(13)),
        "".join(rng.choice(ALNUM) for _ in range(24)))


def build(repo, commits, secret_every):
    rng = random.Random(20261124)
    files = pool_files()
    if not files:
        sys.exit("no source files under $CARGO_HOME/registry/src to build the corpus from")
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    paths = [f"src/m{i // 100:03d}/f{i:05d}{os.path.splitext(files[i % len(files)])[1]}" for i in range(4000)]
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    out = proc.stdin
    planted = 0
    total = 0
    cursor = 0
    for c in range(1, commits + 1):
        msg = f"change {c}".encode()
        out.write(b"commit refs/heads/main\n")
        out.write(f"committer Bench <bench@keyhound.invalid> {1_600_000_000 + c * 600} +0000\n".encode())
        out.write(b"data %d\n%s\n" % (len(msg), msg))
        for _ in range(rng.randint(1, 5)):
            path = paths[rng.randrange(len(paths))]
            content = b""
            for _ in range(rng.randint(1, 3)):
                with open(files[cursor % len(files)], "rb") as f:
                    content += f.read()
                cursor += 1
            content += f"\n// revision {c}\n".encode()
            if c % secret_every == 0 and planted * secret_every < c:
                content += (fake_secret(rng, planted) + "\n").encode()
                planted += 1
            total += len(content)
            out.write(f"M 100644 inline {path}\n".encode())
            out.write(b"data %d\n" % len(content))
            out.write(content)
            out.write(b"\n")
    out.close()
    if proc.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", repo, "reset", "-q", "--hard", "main"], check=True)
    with open(os.path.join(repo, ".git", "keyhound-bench.json"), "w") as f:
        json.dump({"commits": commits, "planted": planted, "blob_bytes": total}, f)


def repack(repo, meta):
    """Rewrites fast-import's pack in the layout of every cloned or gc'd repository.

    fast-import writes objects in import order (each commit's trees beside its blobs); a pack
    written by `git pack-objects` (a clone, a fetch, `git gc`) holds commits, then trees, then
    blobs. Deltas are reused, so this takes seconds.
    """
    subprocess.run(["git", "-C", repo, "repack", "-adq"], check=True)
    meta["layout"] = "pack-objects"
    with open(os.path.join(repo, ".git", "keyhound-bench.json"), "w") as f:
        json.dump(meta, f)


def timed(cmd, cwd=None, runs=1):
    """The fastest of `runs` runs: (wall s, CPU s, peak MB, stdout, stderr)."""
    best = None
    for _ in range(runs):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
            proc = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd, cwd=cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            stats = t.read()
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)",
                         stats).group(1)
        parts = [float(p) for p in wall.split(":")]
        seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
        cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", stats).group(1))
                  for k in ("User", "System"))
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats).group(1)) / 1024
        run = (seconds, cpu, rss, proc.stdout, proc.stderr.decode(errors="replace"))
        if best is None or run[0] < best[0]:
            best = run
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/keyhound-history")
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--secret-every", type=int, default=500)
    parser.add_argument("--repo", help="measure this existing repository instead")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keyhound", default=os.path.join(ROOT, "target", "release", "keyhound"))
    parser.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    parser.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    args = parser.parse_args()
    if args.repo:
        repo = args.repo
        count = subprocess.run(["git", "-C", repo, "rev-list", "--all", "--count"],
                               capture_output=True, text=True, check=True).stdout.strip()
        print(f"{repo}: {count} commits; {os.cpu_count()} cores")
    else:
        repo = os.path.join(args.dir, f"repo-{args.commits}")
        if not os.path.exists(os.path.join(repo, ".git", "keyhound-bench.json")):
            shutil.rmtree(repo, ignore_errors=True)
            build(repo, args.commits, args.secret_every)
        with open(os.path.join(repo, ".git", "keyhound-bench.json")) as f:
            meta = json.load(f)
        if meta.get("layout") != "pack-objects":
            repack(repo, meta)
        print(f"{meta['commits']} commits, {meta['blob_bytes'] / 1e9:.2f} GB of blob content, "
              f"{meta['planted']} planted secrets; {os.cpu_count()} cores")
    if not os.path.exists(args.keyhound):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "keyhound"], cwd=ROOT, check=True)
    rows = []
    secs, cpu, rss, out, err = timed(
        [args.keyhound, "scan", "-q", "--stats", "--format", "json", repo], runs=args.runs)
    found = sum(len(f["occurrences"]) for f in json.loads(out)["findings"])
    if args.repo:
        found = len(json.loads(out)["findings"])
    rows.append(("keyhound", secs, cpu, rss, found))
    split = re.search(r"blob pass ([0-9.]+) s(?: \(CPU ([0-9.]+) s\))?, "
                      r"lifecycle and owners ([0-9.]+) s(?: \(CPU ([0-9.]+) s\))?", err)
    if args.gitleaks:
        with tempfile.TemporaryDirectory() as scratch:
            report = os.path.join(scratch, "gitleaks.json")
            secs, cpu, rss, _, _ = timed([args.gitleaks, "git", repo, "--no-banner", "-f", "json",
                                          "-r", report], runs=args.runs)
            with open(report) as f:
                rows.append(("gitleaks", secs, cpu, rss, len(json.load(f))))
    if args.kingfisher:
        with tempfile.TemporaryDirectory() as scratch:
            report = os.path.join(scratch, "kingfisher.json")
            secs, cpu, rss, _, _ = timed([args.kingfisher, "scan", repo, "--no-update-check", "-n",
                                          "--format", "json", "-o", report], runs=args.runs)
            with open(report) as f:
                rows.append(("kingfisher", secs, cpu, rss, len(json.load(f).get("findings", []))))
    print(f"{'scanner':<12} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'findings':>9}")
    for name, secs, cpu, rss, found in rows:
        print(f"{name:<12} {secs:>8.1f} {cpu:>8.1f} {rss:>8.0f} {found:>9}")
    if split:
        blobs, lifecycle = float(split.group(1)), float(split.group(3))
        cpu = ""
        if split.group(2) and split.group(4):
            cpu = f"; CPU {split.group(2)} s and {split.group(4)} s"
        print(f"keyhound: blob pass {blobs:.2f} s, lifecycle and owners {lifecycle:.2f} s "
              f"(+{100 * lifecycle / blobs:.0f}%){cpu}")
    base = rows[0]
    for name, secs, cpu, rss, _ in rows[1:]:
        print(f"keyhound vs {name}: {secs / base[1]:.1f}x faster (CPU {cpu / base[2]:.1f}x), "
              f"{base[3] / rss:.2f}x its peak memory")


if __name__ == "__main__":
    sys.exit(main())
