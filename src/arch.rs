//! Node architectures: Kubernetes' names, the host's, and the ELF header each one must carry.

use std::fmt;
use std::str::FromStr;

/// An architecture Kubernetes publishes Linux binaries for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
    Arm,
    Ppc64le,
    S390x,
}

/// What a valid `KUBE_ARCH` looks like, for error messages.
pub const EXPECTED: &str = "one of amd64, arm64, arm, ppc64le, s390x (x86_64 and aarch64, as uname -m prints them, also work)";

/// [`EXPECTED`], with a did-you-mean when `s` looks like an architecture mistyped.
pub fn expected_for(s: &str) -> String {
    match suggest(s) {
        Some(meant) => format!("{EXPECTED} (did you mean {meant}?)"),
        None => EXPECTED.to_string(),
    }
}

/// The architecture a mistyped name most likely meant: `amd46` -> `amd64`, `armv7l` -> `arm`.
pub fn suggest(s: &str) -> Option<&'static str> {
    if let Some(arch) = Arch::from_machine(s) {
        return Some(arch.as_str());
    }
    let names = [
        "amd64", "arm64", "arm", "ppc64le", "s390x", "x86_64", "aarch64",
    ];
    let meant = crate::spelling::closest(s, names, 2)?;
    Arch::from_machine(meant).map(Arch::as_str)
}

/// The ELF header fields that identify an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfIdent {
    /// `EI_CLASS`: 1 for 32-bit, 2 for 64-bit.
    pub class: u8,
    /// `EI_DATA`: 1 for little endian, 2 for big endian.
    pub data: u8,
    /// `e_machine`.
    pub machine: u16,
}

impl Arch {
    /// Kubernetes' name, as used in download URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Arm => "arm",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }

    /// Maps `uname -m` to Kubernetes' name.
    pub fn from_machine(machine: &str) -> Option<Arch> {
        match machine {
            "x86_64" | "amd64" => Some(Arch::Amd64),
            "aarch64" | "arm64" => Some(Arch::Arm64),
            "armv7l" | "armv8l" | "arm" => Some(Arch::Arm),
            "ppc64le" => Some(Arch::Ppc64le),
            "s390x" => Some(Arch::S390x),
            _ => None,
        }
    }

    /// The ELF identity every binary for this architecture carries.
    pub fn elf(self) -> ElfIdent {
        let (class, data, machine) = match self {
            Arch::Amd64 => (2, 1, 62),
            Arch::Arm64 => (2, 1, 183),
            Arch::Arm => (1, 1, 40),
            Arch::Ppc64le => (2, 1, 21),
            Arch::S390x => (2, 2, 22),
        };
        ElfIdent {
            class,
            data,
            machine,
        }
    }
}

/// The host's machine name (`uname -m`).
pub fn host_machine() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.machine().to_string_lossy().into_owned())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_string())
}

impl FromStr for Arch {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            // `uname -m`'s names for the two common ones, as operators copy them.
            "amd64" | "x86_64" => Ok(Arch::Amd64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            "arm" => Ok(Arch::Arm),
            "ppc64le" => Ok(Arch::Ppc64le),
            "s390x" => Ok(Arch::S390x),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file is not a binary for the expected architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfMismatch {
    /// The first bytes are not `\x7fELF` (an HTML error page, a tarball...).
    NotElf { first_bytes: String },
    /// An ELF file for another architecture.
    WrongArch { found: String },
}

impl fmt::Display for ElfMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfMismatch::NotElf { first_bytes } => {
                write!(f, "not an ELF executable (starts with {first_bytes})")
            }
            ElfMismatch::WrongArch { found } => write!(f, "an ELF executable for {found}"),
        }
    }
}

/// Checks the ELF header at the start of a file against `arch`. Pure: takes the first bytes.
pub fn check_elf(header: &[u8], arch: Arch) -> Result<(), ElfMismatch> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        let shown: String = header
            .iter()
            .take(16)
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    (b as char).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect();
        return Err(ElfMismatch::NotElf {
            first_bytes: format!("\"{shown}\""),
        });
    }
    let (class, data) = (header[4], header[5]);
    let machine = match data {
        2 => u16::from_be_bytes([header[18], header[19]]),
        _ => u16::from_le_bytes([header[18], header[19]]),
    };
    let found = ElfIdent {
        class,
        data,
        machine,
    };
    if found == arch.elf() {
        return Ok(());
    }
    let name = [
        Arch::Amd64,
        Arch::Arm64,
        Arch::Arm,
        Arch::Ppc64le,
        Arch::S390x,
    ]
    .into_iter()
    .find(|a| a.elf() == found)
    .map(|a| a.as_str().to_string())
    .unwrap_or_else(|| format!("machine {machine}, class {class}, data {data}"));
    Err(ElfMismatch::WrongArch { found: name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(class: u8, data: u8, machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF".to_vec();
        h.extend([class, data, 1, 0]);
        h.extend([0; 8]);
        h.extend([2, 0]);
        h.extend(if data == 2 {
            machine.to_be_bytes()
        } else {
            machine.to_le_bytes()
        });
        h
    }

    #[test]
    fn uname_names_are_aliases_and_typos_get_a_suggestion() {
        assert_eq!("x86_64".parse(), Ok(Arch::Amd64));
        assert_eq!("aarch64".parse(), Ok(Arch::Arm64));
        assert_eq!("armv7l".parse::<Arch>(), Err(()));
        for (input, want) in [
            ("armv7l", Some("arm")),
            ("amd46", Some("amd64")),
            ("x86-64", Some("amd64")),
            ("ppc64", Some("ppc64le")),
            ("riscv64", None),
        ] {
            assert_eq!(suggest(input), want, "{input}");
        }
    }

    #[test]
    fn machine_names_map_to_kubernetes_names() {
        for (machine, arch) in [
            ("x86_64", Some(Arch::Amd64)),
            ("aarch64", Some(Arch::Arm64)),
            ("armv7l", Some(Arch::Arm)),
            ("ppc64le", Some(Arch::Ppc64le)),
            ("s390x", Some(Arch::S390x)),
            ("riscv64", None),
        ] {
            assert_eq!(Arch::from_machine(machine), arch, "{machine}");
        }
    }

    #[test]
    fn elf_check_accepts_matching_and_names_mismatch() {
        for arch in [
            Arch::Amd64,
            Arch::Arm64,
            Arch::Arm,
            Arch::Ppc64le,
            Arch::S390x,
        ] {
            let e = arch.elf();
            assert_eq!(check_elf(&header(e.class, e.data, e.machine), arch), Ok(()));
        }
        let arm64 = Arch::Arm64.elf();
        assert_eq!(
            check_elf(&header(arm64.class, arm64.data, arm64.machine), Arch::Amd64),
            Err(ElfMismatch::WrongArch {
                found: "arm64".into()
            })
        );
    }

    #[test]
    fn html_is_not_elf() {
        let err =
            check_elf(b"<!DOCTYPE html><html><body>404</body></html>", Arch::Amd64).unwrap_err();
        assert!(err.to_string().contains("<!DOCTYPE html>"), "{err}");
        assert!(matches!(
            check_elf(b"\x7fEL", Arch::Amd64),
            Err(ElfMismatch::NotElf { .. })
        ));
    }
}
