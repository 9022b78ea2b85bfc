//! Reading certificates and keys: identity, names, usages, expiry, chain and key-pair match.
//! Shared by `pki init` (renewal decisions), `pki check` and `doctor`. Nothing here prints or
//! keeps a private key; keys are read only to derive their public half.

use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a certificate or key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid PEM")]
    Pem(#[source] x509_parser::error::PEMError),
    #[error("holds no PEM certificate")]
    NoCertificate,
    #[error("invalid X.509 certificate")]
    Certificate(#[source] x509_parser::nom::Err<x509_parser::error::X509Error>),
    #[error("holds no private key that kube-bootstrap can read (PKCS#8, or PKCS#1 RSA)")]
    PrivateKey,
    #[error("holds no public key that kube-bootstrap can read (PEM SubjectPublicKeyInfo)")]
    PublicKey,
}

/// What a certificate says, in the terms the checks and renewal decisions use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The whole certificate, DER.
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// The subject's common name.
    pub common_name: Option<String>,
    /// The subject's organizations (Kubernetes groups).
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub is_ca: bool,
    pub key_cert_sign: bool,
    pub digital_signature: bool,
    pub server_auth: bool,
    pub client_auth: bool,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
}

/// The first certificate of a PEM file.
pub fn parse_cert_pem(bytes: &[u8]) -> Result<CertInfo, Error> {
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(Error::Pem)?;
        if pem.label == "CERTIFICATE" {
            return parse_cert_der(&pem.contents);
        }
    }
    Err(Error::NoCertificate)
}

/// Every certificate of a PEM file (a bundle), in order; empty when it holds none.
pub fn parse_certs_pem(bytes: &[u8]) -> Result<Vec<CertInfo>, Error> {
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(Error::Pem)?;
        if pem.label == "CERTIFICATE" {
            out.push(parse_cert_der(&pem.contents)?);
        }
    }
    Ok(out)
}

/// A DER certificate.
pub fn parse_cert_der(der: &[u8]) -> Result<CertInfo, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(Error::Certificate)?;
    let subject = cert.subject();
    let text = |attr: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        attr.as_str().map(str::to_string).ok()
    };
    let mut info = CertInfo {
        der: der.to_vec(),
        subject: subject.to_string(),
        issuer: cert.issuer().to_string(),
        common_name: subject.iter_common_name().next().and_then(text),
        organizations: subject.iter_organization().filter_map(text).collect(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        is_ca: false,
        key_cert_sign: false,
        digital_signature: false,
        server_auth: false,
        client_auth: false,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        public_key: cert.public_key().raw.to_vec(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => info.dns_names.push(d.to_string()),
                        GeneralName::IPAddress(b) => {
                            if let Some(ip) = ip_from_bytes(b) {
                                info.ip_addresses.push(ip);
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => info.is_ca = bc.ca,
            ParsedExtension::KeyUsage(ku) => {
                info.key_cert_sign = ku.key_cert_sign();
                info.digital_signature = ku.digital_signature();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                info.server_auth = eku.server_auth;
                info.client_auth = eku.client_auth;
            }
            _ => {}
        }
    }
    Ok(info)
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Whether `cert` carries a valid signature by `ca`'s key and names `ca`'s subject as issuer.
pub fn signed_by(cert: &CertInfo, ca: &CertInfo) -> bool {
    let (Ok((_, leaf)), Ok((_, issuer))) = (
        X509Certificate::from_der(&cert.der),
        X509Certificate::from_der(&ca.der),
    ) else {
        return false;
    };
    leaf.issuer() == issuer.subject() && leaf.verify_signature(Some(issuer.public_key())).is_ok()
}

/// The DER SubjectPublicKeyInfo of a PEM private key: PKCS#8 (EC or RSA) or PKCS#1 RSA.
pub fn private_key_public_half(pem: &str) -> Result<Vec<u8>, Error> {
    use rcgen::PublicKeyData;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    if let Ok(key) = rcgen::KeyPair::from_pem(pem) {
        return Ok(key.subject_public_key_info());
    }
    let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| Error::PrivateKey)?;
    rsa.to_public_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|_| Error::PrivateKey)
}

/// The DER SubjectPublicKeyInfo of a PEM public key (`PUBLIC KEY`).
pub fn parse_public_key_pem(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(Error::Pem)?;
        if pem.label == "PUBLIC KEY" {
            return Ok(pem.contents);
        }
    }
    Err(Error::PublicKey)
}

/// Whether the PEM private key `key_pem` is the private half of `cert`'s public key.
pub fn key_matches(cert: &CertInfo, key_pem: &str) -> Result<bool, Error> {
    Ok(private_key_public_half(key_pem)? == cert.public_key)
}

const UTC: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// `2027-01-31 12:00:00 UTC` for Unix seconds.
pub fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(UTC).ok())
        // Only timestamps beyond year 9999 have no date here; say what they are.
        .unwrap_or_else(|| format!("{unix} seconds after 1970-01-01 UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_and_leaf() -> (CertInfo, CertInfo, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test-ca");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["kubernetes".into(), "10.0.0.1".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "system:node:10.0.0.1");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "system:nodes");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let leaf = params.signed_by(&key, &issuer).unwrap();
        (
            parse_cert_pem(ca.pem().as_bytes()).unwrap(),
            parse_cert_pem(leaf.pem().as_bytes()).unwrap(),
            key.serialize_pem(),
        )
    }

    #[test]
    fn reads_identity_names_usages_and_chain() {
        let (ca, leaf, key) = ca_and_leaf();
        assert!(ca.is_ca && ca.key_cert_sign);
        assert_eq!(leaf.common_name.as_deref(), Some("system:node:10.0.0.1"));
        assert_eq!(leaf.organizations, ["system:nodes"]);
        assert_eq!(leaf.dns_names, ["kubernetes"]);
        assert_eq!(leaf.ip_addresses, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert!(leaf.client_auth && !leaf.server_auth && !leaf.is_ca);
        assert!(signed_by(&leaf, &ca));
        assert!(!signed_by(&ca, &leaf));
        assert!(key_matches(&leaf, &key).unwrap());
        let (_, other, other_key) = ca_and_leaf();
        assert!(!signed_by(&other, &ca));
        assert!(!key_matches(&leaf, &other_key).unwrap());
    }

    #[test]
    fn files_without_a_certificate_or_key_are_errors() {
        assert!(matches!(
            parse_cert_pem(b"not a certificate\n"),
            Err(Error::NoCertificate)
        ));
        assert!(private_key_public_half("nope").is_err());
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert!(parse_certs_pem(b"not a certificate\n").unwrap().is_empty());
    }

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(-86_400), "1969-12-31 00:00:00 UTC");
    }

    #[test]
    fn bundles_give_every_certificate() {
        let (ca, leaf, _) = ca_and_leaf();
        let pem = |c: &CertInfo| pem::encode(&pem::Pem::new("CERTIFICATE", c.der.clone()));
        let both = pem(&leaf) + &pem(&ca);
        let all = parse_certs_pem(both.as_bytes()).unwrap();
        assert_eq!(all, [leaf, ca]);
    }
}
