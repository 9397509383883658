#!/usr/bin/env python3
"""Precision and recall of keyhound, gitleaks and Kingfisher on the same realistic files.

Builds the planted-secret corpus of the CLI test (testdata/planted with fresh fake credentials,
plus testdata/clean, which must yield nothing), runs each scanner found on PATH (or given by
--gitleaks / --kingfisher) over it, and scores every reported location: a location is a true
positive when it falls on a planted secret's lines. Locations are deduplicated per scanner, so
a scanner is not punished for reporting one secret under two rules. Secrets planted encoded
(base64, percent-encoding, JSON escapes, hex: `@@kind|encoding@@` in a template) are counted
apart too, in the `encoded` column.

    python3 benches/compare-detection.py [--gitleaks PATH] [--kingfisher PATH]

The scanners get the files only, never network access (Kingfisher runs with -n).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_corpus(out):
    env = dict(os.environ, KEYHOUND_PLANTED_OUT=out)
    subprocess.run(
        ["cargo", "nextest", "run", "-p", "keyhound", "-E", "test(planted_corpus_precision_and_recall)"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.copytree(os.path.join(ROOT, "testdata", "clean"), os.path.join(out, "files", "clean"))
    with open(os.path.join(out, "expected.json")) as f:
        return json.load(f)


def rel(path, files):
    return os.path.relpath(path, files) if os.path.isabs(path) else path


def run_keyhound(binary, files):
    out = subprocess.run([binary, "scan", "-q", "--format", "json", "."], cwd=files, capture_output=True, check=False)
    report = json.loads(out.stdout)
    return {(o["path"], o["line"]) for f in report["findings"] for o in f["occurrences"]}


def run_gitleaks(binary, files, scratch):
    report = os.path.join(scratch, "gitleaks.json")
    subprocess.run([binary, "dir", files, "-f", "json", "-r", report, "--no-banner"], capture_output=True, check=False)
    with open(report) as f:
        return {(rel(x["File"], files), x["StartLine"]) for x in json.load(f)}


def run_kingfisher(binary, files, scratch):
    report = os.path.join(scratch, "kingfisher.json")
    subprocess.run([binary, "scan", files, "--no-update-check", "-n", "--format", "json", "-o", report],
                   capture_output=True, check=False)
    with open(report) as f:
        data = json.load(f)
    return {(rel(x["finding"]["path"], files), x["finding"]["line"]) for x in data.get("findings", [])}


def score(found, expected):
    def hits(loc, e):
        return loc[0] == e["path"] and e["first_line"] <= loc[1] <= e["last_line"]
    tp = sum(1 for loc in found if any(hits(loc, e) for e in expected))
    recalled = sum(1 for e in expected if any(hits(loc, e) for loc in found))
    false = sorted(loc for loc in found if not any(hits(loc, e) for e in expected))
    missed = [e["path"] + ":" + str(e["first_line"]) for e in expected if not any(hits(loc, e) for loc in found)]
    precision = tp / len(found) if found else 1.0
    encoded = [e for e in expected if e.get("encoding")]
    encoded_found = sum(1 for e in encoded if any(hits(loc, e) for loc in found))
    return precision, recalled / len(expected), false, missed, (encoded_found, len(encoded))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyhound", default=os.path.join(ROOT, "target", "release", "keyhound"))
    parser.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    parser.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    args = parser.parse_args()
    # The scanners run in the corpus directory: a relative path must not depend on it.
    args.keyhound = os.path.abspath(args.keyhound)
    if not os.path.exists(args.keyhound):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "keyhound"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "corpus")
        expected = build_corpus(out)
        files = os.path.join(out, "files")
        runs = [("keyhound", lambda: run_keyhound(args.keyhound, files))]
        if args.gitleaks:
            runs.append(("gitleaks", lambda: run_gitleaks(args.gitleaks, files, scratch)))
        if args.kingfisher:
            runs.append(("kingfisher", lambda: run_kingfisher(args.kingfisher, files, scratch)))
        planted_files = len([f for f in os.listdir(files) if f != "clean"])
        kinds = len({e["rule"] for e in expected})
        encodings = sorted({e["encoding"] for e in expected if e.get("encoding")})
        encoded = sum(1 for e in expected if e.get("encoding"))
        print(f"{len(expected)} planted secrets of {kinds} kinds in {planted_files} files, plus testdata/clean;")
        print(f"{encoded} of them encoded ({', '.join(encodings)})")
        print(f"{'scanner':<12} {'precision':>9} {'recall':>7} {'encoded':>8}  false alarms / missed")
        for name, run in runs:
            precision, recall, false, missed, (enc_found, enc_all) = score(run(), expected)
            print(f"{name:<12} {precision:>9.3f} {recall:>7.3f} {enc_found:>4}/{enc_all:<3}  {false} / {missed}")


if __name__ == "__main__":
    sys.exit(main())
