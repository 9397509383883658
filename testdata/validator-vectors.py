#!/usr/bin/env python3
"""Builds testdata/validator-vectors.json: checksum test vectors made WITHOUT keyhound's code.

keyhound's checksum validators (crc32-base62 for GitHub and npm tokens, bech32 for age and
Nostr keys) are tested in Rust against tokens that the crate's own encoder makes; a mistake the
encoder and the checker share (a wrong alphabet order, a wrong CRC, a wrong generator constant)
would pass those tests. This script computes the same formats independently, from the published
descriptions, with Python's zlib.crc32 and a Bech32 written here from BIP-173; the Rust test
`validator_vectors_built_outside_the_crate_hold` checks every vector. It also carries vectors
copied by hand from the specifications (BIP-173's own list, age's test kit identity).

    python3 testdata/validator-vectors.py     # rewrites testdata/validator-vectors.json

Deterministic (seeded), so rerunning it changes nothing. Every value is fake.
"""
import json
import os
import random
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def base62(value, width):
    digits = ""
    while value:
        value, rem = divmod(value, 62)
        digits = BASE62[rem] + digits
    return digits.rjust(width, "0")


def crc_token(prefix, payload):
    """GitHub's scheme (also npm's): prefix, 30 base62 characters, their CRC32 in 6 base62 digits."""
    return prefix + payload + base62(zlib.crc32(payload.encode()), 6)


def polymod(values):
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= generator[i]
    return chk


def bech32(hrp, data):
    words, acc, bits = [], 0, 0
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(expanded + words + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[w] for w in words + checksum)


def flip(value, at, alphabet):
    """`value` with the character at `at` replaced by the next one of `alphabet`."""
    c = value[at]
    return value[:at] + alphabet[(alphabet.index(c) + 1) % len(alphabet)] + value[at + 1:]


def main():
    rng = random.Random(11)
    vectors = []

    def add(validator, value, valid, note):
        vectors.append({"validator": validator, "value": value, "valid": valid, "note": note})

    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"]:
        for _ in range(4):
            payload = "".join(rng.choice(ALNUM) for _ in range(30))
            token = crc_token(prefix, payload)
            add("crc32-base62", token, True, "zlib.crc32, base62 0-9A-Za-z")
            add("crc32-base62", flip(token, len(prefix) + 3, ALNUM), False, "a payload character changed")
            add("crc32-base62", flip(token, len(token) - 1, BASE62), False, "the last checksum digit changed")
    # Checksums whose base62 form has leading zeros must be padded, not shortened.
    padded = 0
    while padded < 2:
        payload = "".join(rng.choice(ALNUM) for _ in range(30))
        if zlib.crc32(payload.encode()) < 62 ** 5:
            add("crc32-base62", crc_token("ghp_", payload), True, "checksum with a leading zero digit")
            padded += 1

    for _ in range(6):
        key = bytes(rng.getrandbits(8) for _ in range(32))
        age = bech32("age-secret-key-", key).upper()
        add("bech32", age, True, "age identity, upper case")
        add("bech32", flip(age, 30, BECH32.upper()), False, "a data character changed")
        nsec = bech32("nsec", key)
        add("bech32", nsec, True, "Nostr nsec")
        add("bech32", nsec[:-1] + BECH32[(BECH32.index(nsec[-1]) + 1) % 32], False, "the last checksum character changed")
    # By hand from BIP-173's list of valid and invalid Bech32 strings.
    for value in ["A12UEL5L", "a12uel5l",
                  "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"]:
        add("bech32", value, True, "BIP-173 valid vector")
    for value, why in [("x1b4n0q5v", "invalid data character"), ("li1dgmt3", "checksum too short"),
                       ("10a06t8", "empty human-readable part"), ("1qzzfhee", "empty human-readable part"),
                       ("A1G7SGD8", "checksum computed with an upper-case human-readable part")]:
        add("bech32", value, False, "BIP-173 invalid vector: " + why)
    # From age's published test kit (a test identity, not anybody's key).
    add("bech32", "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6", True,
        "age testkit identity")

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validator-vectors.json")
    with open(out, "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")
    print(f"{len(vectors)} vectors written to {out}")


if __name__ == "__main__":
    main()
