#!/usr/bin/env python3
"""Prints the licences of what the static binary links besides kube-bootstrap's own code.

Usage: third_party_licenses.py TARGET_TRIPLE > THIRD-PARTY-LICENSES

Lists every crate the binary depends on for TARGET_TRIPLE (normal dependencies, as resolved
in Cargo.lock) with its version and licence expression, followed by the licence files the
crate ships. Identical texts are printed once. Ends with a note on the statically linked
GNU C Library. Runs `cargo metadata`, which reads the registry cache the build filled.
"""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|notice|unlicense|copyright)", re.IGNORECASE)


def main() -> None:
    triple = sys.argv[1]
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", triple]
        )
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]

    # Normal dependencies only: build scripts and dev-dependencies are not in the binary.
    seen, stack = set(), [root]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            if dep["pkg"] not in seen and any(k["kind"] is None for k in dep["dep_kinds"]):
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])

    out = sys.stdout
    out.write(
        "Third-party software in kube-bootstrap\n"
        "======================================\n\n"
        "The kube-bootstrap binary is statically linked. Besides kube-bootstrap's own code\n"
        "(Apache-2.0, see LICENSE) it contains the following Rust crates and the GNU C Library.\n\n"
    )
    crates = sorted((packages[i] for i in seen), key=lambda p: (p["name"], p["version"]))
    for p in crates:
        out.write(f"  {p['name']} {p['version']}: {p.get('license') or 'see licence file'}\n")

    printed: dict[str, str] = {}
    for p in crates:
        crate = f"{p['name']} {p['version']}"
        out.write(f"\n\n{'-' * 78}\n{crate}  ({p.get('license') or 'see licence file'})\n{'-' * 78}\n")
        directory = Path(p["manifest_path"]).parent
        files = sorted(f for f in directory.iterdir() if f.is_file() and LICENSE_FILE.match(f.name))
        if p.get("license_file"):
            extra = directory / p["license_file"]
            if extra.is_file() and extra not in files:
                files.append(extra)
        if not files:
            out.write("\n(The crate ships no licence file; its licence is the SPDX expression above.)\n")
        for f in files:
            text = f.read_text(encoding="utf-8", errors="replace").strip()
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest in printed:
                out.write(f"\n{f.name}: same text as {printed[digest]} above.\n")
            else:
                printed[digest] = f"{f.name} of {crate}"
                out.write(f"\n{f.name}:\n\n{text}\n")

    libc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libc6-dev"], capture_output=True, text=True
    ).stdout.strip()
    out.write(
        f"\n\n{'-' * 78}\nGNU C Library{' ' + libc if libc else ''}  (LGPL-2.1-or-later)\n{'-' * 78}\n\n"
        "The binary is linked statically (crt-static) with the GNU C Library as packaged by\n"
        "Debian (libc6-dev). Its source code is available from the Debian archive\n"
        "(https://sources.debian.org/src/glibc/) and from https://www.gnu.org/software/libc/.\n"
        "The licence text is in /usr/share/common-licenses/LGPL-2.1 on Debian systems and at\n"
        "https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html.\n"
    )


if __name__ == "__main__":
    main()
