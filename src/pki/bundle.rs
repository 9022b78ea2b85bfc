//! Node bundles: a tar of `ca.crt`, `kubelet.crt/.key` and `proxy.crt/.key` for one worker,
//! made on the leader (`pki node`) and unpacked into a worker's `KUBE_PKI_DIR` (`pki install`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component as PathPart, Path};

use super::{
    Action, CERT_MODE, Error, KEY_MODE, Outcome, ensure_ca, io_err, issue, node_leaves,
    read_optional, write_file,
};
use crate::node::NodeFacts;
use crate::settings::Settings;
use crate::x509;

/// The files of a bundle and their modes, in the order they are written.
pub const FILES: [(&str, u32); 5] = [
    ("ca.crt", CERT_MODE),
    ("kubelet.key", KEY_MODE),
    ("kubelet.crt", CERT_MODE),
    ("proxy.key", KEY_MODE),
    ("proxy.crt", CERT_MODE),
];

/// Largest bundle accepted (a real one is a few KiB).
const MAX_BUNDLE: u64 = 1 << 20;

fn bundle_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Bundle {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// `pki node NODE --out FILE`: issues the kubelet and kube-proxy pairs for `node` with this
/// leader's CA and writes them with `ca.crt` as a tar (mode 0600: it holds keys).
pub fn node(settings: &Settings, node: &str, out: &Path) -> Result<Vec<Outcome>, Error> {
    // The kubelet registers a lowercased host name; anything else Kubernetes would refuse
    // (spaces, commas, newlines, U+2028) never reaches a certificate.
    let lowered = node.to_ascii_lowercase();
    if !super::valid_node_name(&lowered) {
        return Err(Error::NodeName {
            name: node.to_string(),
        });
    }
    let node = lowered.as_str();
    let dir = settings.path(&settings.cluster.pki_dir);
    // A `pki init` making the CA at the same time: wait for it, then read what it made.
    let _lock = super::lock_dir(&dir)?;
    let ca = ensure_ca(settings, &dir, &mut Vec::new(), false)?;
    let Some(ca_key) = &ca.key_pem else {
        return Err(Error::NoCaKey {
            file: "kubelet.crt".into(),
            ca_key: dir.join("ca.key"),
        });
    };
    let mut files: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    files.insert("ca.crt", ca.cert_pem.clone().into_bytes());
    let mut identities = Vec::new();
    for leaf in node_leaves(node) {
        let (cert, key) = issue::leaf(
            &leaf,
            &ca.cert_pem,
            ca_key,
            None,
            settings.pki.cert_days,
            ca.info.not_after,
        )?;
        let (crt_name, key_name) = match leaf.name {
            "kubelet" => ("kubelet.crt", "kubelet.key"),
            _ => ("proxy.crt", "proxy.key"),
        };
        files.insert(crt_name, cert.into_bytes());
        files.insert(key_name, key.unwrap_or_default().into_bytes());
        identities.push(format!("{crt_name} {}", leaf.identity()));
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mtime = super::now().max(0) as u64;
    for (name, mode) in FILES {
        let bytes = &files[name];
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .map_err(io_err("build bundle", out))?;
    }
    let tar = builder.into_inner().map_err(io_err("build bundle", out))?;
    // Typed on the command line: taken as given, not under --root.
    let path = out.to_path_buf();
    write_file(&path, &tar, KEY_MODE)?;
    Ok(vec![Outcome {
        action: Action::Made,
        path,
        why: format!(
            "bundle for node '{node}': ca.crt, {}",
            identities.join(", ")
        ),
    }])
}

/// Whether `bytes` start with a tar header: POSIX ustar, pax and GNU tar all put "ustar" at
/// offset 257 of the first 512-byte block.
fn looks_like_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && bytes.get(257..262) == Some(b"ustar".as_slice())
}

/// Reads and checks a bundle: exactly the known regular files, each once, no links, no paths.
fn read_bundle(path: &Path, bytes: &[u8]) -> Result<BTreeMap<&'static str, Vec<u8>>, Error> {
    // Without this check the tar reader takes any file's first bytes as an entry name and the
    // error quotes them raw (a text file, a PEM, a gzip).
    if !looks_like_tar(bytes) {
        return Err(bundle_err(
            path,
            format!(
                "it starts with '{}'",
                crate::shown::quote_bytes(&bytes[..bytes.len().min(32)])
            ),
        ));
    }
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .map_err(|e| bundle_err(path, format!("unreadable tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bundle_err(path, format!("unreadable tar: {e}")))?;
        let name = entry
            .path()
            .map_err(|e| bundle_err(path, format!("unreadable entry name: {e}")))?
            .into_owned();
        let shown = crate::shown::quote(&name.display().to_string());
        let parts: Vec<_> = name
            .components()
            .filter(|c| !matches!(c, PathPart::CurDir))
            .collect();
        let base = match parts.as_slice() {
            [PathPart::Normal(n)] => n.to_str().unwrap_or_default(),
            _ => {
                return Err(bundle_err(
                    path,
                    format!("entry '{shown}' is not a plain file name"),
                ));
            }
        };
        let Some((known, _)) = FILES.iter().find(|(n, _)| *n == base) else {
            return Err(bundle_err(path, format!("unexpected entry '{shown}'")));
        };
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bundle_err(
                path,
                format!("entry '{shown}' is not a regular file"),
            ));
        }
        if entry.size() > 64 * 1024 {
            return Err(bundle_err(path, format!("entry '{shown}' is too large")));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| bundle_err(path, format!("cannot read entry '{shown}': {e}")))?;
        if files.insert(*known, content).is_some() {
            return Err(bundle_err(path, format!("entry '{shown}' appears twice")));
        }
    }
    for (name, _) in FILES {
        if !files.contains_key(name) {
            return Err(bundle_err(path, format!("'{name}' is missing")));
        }
    }
    Ok(files)
}

/// `pki install FILE`: checks a bundle (chain, key pairs, the node it was made for) and writes
/// its files into `KUBE_PKI_DIR` with their modes, each only when it differs.
pub fn install(settings: &Settings, file: &Path) -> Result<Vec<Outcome>, Error> {
    // Typed on the command line: taken as given, not under --root.
    let path = file.to_path_buf();
    // Bounded and non-blocking: a FIFO or a device given as FILE is refused, not read.
    let bytes = super::files::read_bounded(&path, MAX_BUNDLE)?.ok_or_else(|| Error::Io {
        action: "open",
        path: path.clone(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let files = read_bundle(&path, &bytes)?;
    let text = |name: &str| String::from_utf8_lossy(&files[name]).into_owned();
    let parse = |name: &str| {
        x509::parse_cert_pem(&files[name])
            .map_err(|e| bundle_err(&path, format!("{name}: {}", crate::causes::chain(&e))))
    };
    let ca = parse("ca.crt")?;
    let mut bundle_node = String::new();
    for stem in ["kubelet", "proxy"] {
        let cert = parse(&format!("{stem}.crt"))?;
        if !x509::signed_by(&cert, &ca) {
            return Err(bundle_err(
                &path,
                format!("{stem}.crt is not signed by its ca.crt"),
            ));
        }
        if !x509::key_matches(&cert, &text(&format!("{stem}.key"))).unwrap_or(false) {
            return Err(bundle_err(
                &path,
                format!("{stem}.key does not match {stem}.crt"),
            ));
        }
        if stem == "kubelet" {
            bundle_node = cert
                .common_name
                .as_deref()
                .and_then(|cn| cn.strip_prefix("system:node:"))
                .filter(|n| super::valid_node_name(n))
                .ok_or_else(|| {
                    bundle_err(
                        &path,
                        format!(
                            "kubelet.crt's subject {} is not a system:node:<node name> identity",
                            crate::shown::quote(&super::identity(
                                cert.common_name.as_deref(),
                                &cert.organizations
                            ))
                        ),
                    )
                })?
                .to_string();
        }
    }
    match NodeFacts::load(settings).node_ip {
        Ok(ip) if ip.value.to_string() != bundle_node => {
            return Err(Error::WrongNode {
                path,
                bundle: bundle_node,
                node: ip.value.to_string(),
                source_of: ip.source.to_string(),
            });
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(
            node = %bundle_node,
            reason = %e,
            "this node's address is not known; installing the bundle without checking its node name"
        ),
    }
    let dir = settings.path(&settings.cluster.pki_dir);
    super::files::create_private_dir(&dir)?;
    let _lock = super::lock_dir(&dir)?;
    let local_ca = dir.join("ca.crt");
    let replaces_ca = read_optional(&local_ca)?.is_some_and(|existing| existing != files["ca.crt"]);
    if replaces_ca && dir.join("ca.key").exists() {
        return Err(Error::ForeignCa {
            bundle: path,
            ca: local_ca,
        });
    }
    // Every file written before any is renamed: a full disk leaves the node's files as they
    // were, never a new key beside an old certificate or a new CA beside old leaves.
    let mut staged = Vec::new();
    let mut changed = Vec::new();
    for (name, mode) in FILES {
        let s = super::files::stage_if_changed(&dir.join(name), &files[name], mode)?;
        changed.push(s.is_some());
        staged.extend(s);
    }
    super::files::commit(staged)?;
    // Read back: what the node's flags will point at is what the bundle held.
    let ca_info = super::files::parse_cert(&local_ca, &files["ca.crt"])?;
    for stem in ["kubelet", "proxy"] {
        super::files::verify_pair(
            &dir.join(format!("{stem}.crt")),
            &dir.join(format!("{stem}.key")),
            Some(&ca_info),
        )?;
    }
    let mut out = Vec::new();
    for ((name, _), wrote) in FILES.into_iter().zip(changed) {
        let target = dir.join(name);
        out.push(Outcome {
            action: if wrote { Action::Made } else { Action::Kept },
            path: target,
            why: if wrote {
                format!("from the bundle for node '{bundle_node}'")
            } else {
                "unchanged".into()
            },
        });
    }
    Ok(out)
}
