#!/usr/bin/env python3
"""Seeds the fuzz corpora from the messages in the sip crate's tests.

Every Rust string literal in sip/tests/**/*.rs and sip/src/**/*.rs that holds a SIP message
(contains "SIP/2.0") goes to corpus/parse_message, every one that holds an SDP body (starts
with "v=0") to corpus/sdp. format! placeholders ({}, {name}) stay as written. For the
endpoint's multi-datagram mode, pairs and triples of SIP messages joined by NUL bytes are
added too. Run from sip/fuzz:  python3 seed.py
"""
import hashlib
import pathlib
import random
import re

HERE = pathlib.Path(__file__).resolve().parent
SIP = HERE.parent
LITERAL = re.compile(r'r(#*)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', re.S)
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "\n":  # line continuation: skip the newline and the next line's indent
            i += 2
            while i < len(body) and body[i] in " \t\n":
                i += 1
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u":
            end = body.index("}", i)
            out.append(chr(int(body[i + 3 : end], 16)))
            i = end + 1
        else:
            out.append(ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def literals():
    for path in sorted(list(SIP.glob("tests/**/*.rs")) + list(SIP.glob("src/**/*.rs"))):
        for m in LITERAL.finditer(path.read_text()):
            yield m.group(2) if m.group(2) is not None else unescape(m.group(3))


def write(kind: str, data: bytes):
    folder = HERE / "corpus" / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    sip, sdp = set(), set()
    for text in literals():
        if "SIP/2.0" in text and len(text) > 20:
            sip.add(text.encode("utf-8", "surrogateescape"))
        if text.startswith("v=0"):
            sdp.add(text.encode("utf-8", "surrogateescape"))
    sip, sdp = sorted(sip), sorted(sdp)
    for data in sip:
        write("parse_message", data)
    rng = random.Random(3261)
    full = [m for m in sip if b"\r\n\r\n" in m]
    for _ in range(64):
        write("parse_message", b"\0".join(rng.sample(full, rng.choice([2, 3]))))
    for data in sdp:
        write("sdp", data)
    print(f"parse_message: {len(sip)} messages + 64 sequences; sdp: {len(sdp)} bodies")


main()
