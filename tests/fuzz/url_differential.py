#!/usr/bin/env python3
"""The URL parser against Python's urllib.parse, on the inputs given (files or
directories, e.g. tests/fuzz/corpus/fuzz_url and a fuzzing run's new inputs).

Runs the fuzz_url target over them with SOCKIT_FUZZ_URL_PRINT=1, which prints each URL
parse_url() accepts, and checks urllib.parse.urlsplit() reads the same text the same way:
scheme, host (ignoring case), port (the scheme's default when none), and path plus query
(after the percent-encoding parse_url applies to bytes a request line may not carry).
Exits 1 on a disagreement, printing it.
  tests/fuzz/url_differential.py build/fuzz/tests/fuzz/fuzz_url tests/fuzz/corpus/fuzz_url
"""
import os
import subprocess
import sys
import urllib.parse

UNSAFE = set(b'"<>\\^`{|}')


def encode_target(raw: bytes) -> bytes:
    out = bytearray()
    for c in raw:
        if c <= 0x20 or c >= 0x7F or c in UNSAFE:
            out += b"%%%02X" % c
        else:
            out.append(c)
    return bytes(out)


def expected(text: bytes):
    """What urllib makes of `text`, in parse_url's terms, or None when it refuses it."""
    stripped = text.strip(b" \t\r\n\f\v")
    # urllib drops tabs and line ends anywhere (as WHATWG does); parse_url encodes them.
    # Inputs holding them are left out rather than compared.
    if any(c in stripped for c in b"\t\r\n"):
        return None
    try:
        parts = urllib.parse.urlsplit(stripped.decode("latin-1"))
        port = parts.port
    except ValueError:
        return "refused"
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    path = parts.path.encode("latin-1")
    target = encode_target(path if path else b"/")
    if not path.startswith(b"/") and path:
        return "refused"
    if parts.query or stripped.split(b"#")[0].endswith(b"?"):
        target += b"?" + encode_target(parts.query.encode("latin-1"))
    host = parts.hostname or ""
    if ":" in host:
        host = host.replace("%25", "%", 1)  # RFC 6874: parse_url decodes a zone id's "%25"
    return scheme, host.lower(), port if port is not None else default, target


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, inputs = sys.argv[1], sys.argv[2:]
    files = []
    for path in inputs:
        if os.path.isdir(path):
            files += [os.path.join(path, name) for name in sorted(os.listdir(path))]
        else:
            files.append(path)
    env = dict(os.environ, SOCKIT_FUZZ_URL_PRINT="1")
    run = subprocess.run([binary, *files], env=env, capture_output=True, check=True)
    compared = disagreements = 0
    for line in run.stdout.splitlines():
        if not line.startswith(b"url "):
            continue
        fields = line.split(b" ")[1:]
        text, scheme, host = (bytes.fromhex(f.decode()) for f in fields[:3])
        port = int(fields[3])
        target = bytes.fromhex(fields[4].decode())
        want = expected(text)
        if want is None:
            continue
        compared += 1
        got = (scheme.decode(), host.decode("latin-1").lower(), port, target)
        if want != got:
            disagreements += 1
            print(f"{text!r}: parse_url {got}, urllib {want}")
    print(f"{compared} URLs compared with urllib.parse, {disagreements} disagreements")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
