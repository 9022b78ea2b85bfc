#!/usr/bin/env python3
"""Checks that an ELF executable is static (no program interpreter, no DT_NEEDED entry) and
stripped (no symbol table), reading its headers: what `file` would say, without `file`.

Usage: elf_check.py BINARY    prints one summary line; exits 1, saying why, when it is not.
"""
import struct
import sys

PT_DYNAMIC, PT_INTERP = 2, 3
SHT_SYMTAB = 2
DT_NULL, DT_NEEDED = 0, 1
MACHINES = {62: "x86-64", 183: "aarch64", 40: "arm", 21: "ppc64", 22: "s390x"}


def inspect(data):
    """Returns (summary, problems) for the ELF image `data`."""
    if data[:4] != b"\x7fELF":
        return "not an ELF file", ["not an ELF file"]
    bits = {1: 32, 2: 64}.get(data[4])
    endian = {1: "<", 2: ">"}.get(data[5])
    if bits is None or endian is None:
        return "an ELF file of unknown class", ["unknown ELF class or byte order"]
    if bits == 64:
        e_type, e_machine = struct.unpack_from(endian + "HH", data, 16)
        e_phoff, e_shoff = struct.unpack_from(endian + "QQ", data, 32)
        e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from(endian + "HHHH", data, 54)
    else:
        e_type, e_machine = struct.unpack_from(endian + "HH", data, 16)
        e_phoff, e_shoff = struct.unpack_from(endian + "II", data, 28)
        e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from(endian + "HHHH", data, 42)
    problems = []
    interp = needed = False
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        p_type = struct.unpack_from(endian + "I", data, off)[0]
        if p_type == PT_INTERP:
            interp = True
        elif p_type == PT_DYNAMIC:
            if bits == 64:
                p_offset, p_filesz = struct.unpack_from(endian + "Q", data, off + 8)[0], struct.unpack_from(endian + "Q", data, off + 32)[0]
                entry, fmt = 16, endian + "qQ"
            else:
                p_offset, p_filesz = struct.unpack_from(endian + "I", data, off + 4)[0], struct.unpack_from(endian + "I", data, off + 16)[0]
                entry, fmt = 8, endian + "iI"
            for at in range(p_offset, p_offset + p_filesz, entry):
                tag, _ = struct.unpack_from(fmt, data, at)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed = True
    if interp:
        problems.append("it names a program interpreter (dynamically linked)")
    if needed:
        problems.append("it needs shared libraries (DT_NEEDED)")
    symtab = any(
        struct.unpack_from(endian + "I", data, e_shoff + i * e_shentsize + 4)[0] == SHT_SYMTAB
        for i in range(e_shnum)
    )
    if symtab:
        problems.append("it has a symbol table (not stripped)")
    kind = {2: "executable", 3: "pie executable"}.get(e_type, f"type {e_type}")
    summary = "ELF %d-bit %s %s, %s, %s" % (
        bits,
        MACHINES.get(e_machine, f"machine {e_machine}"),
        kind,
        "dynamically linked" if interp or needed else "statically linked",
        "not stripped" if symtab else "stripped",
    )
    return summary, problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: elf_check.py BINARY")
    path = sys.argv[1]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"elf_check.py: cannot read '{path}': {e.strerror}")
    try:
        summary, problems = inspect(data)
    except struct.error:
        summary, problems = "a truncated ELF file", ["its headers point past its end"]
    print(summary)
    if problems:
        for p in problems:
            print(f"elf_check.py: '{path}': {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
