//! Key and certificate generation with rcgen on ring: ECDSA P-256 for TLS, RSA 2048 (RustCrypto
//! `rsa`) for the service-account signing key, which old releases read only as RSA.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};

use super::{CA_ORGANIZATION, Error, Leaf};

fn gen_err(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |source| Error::Generate {
        what: what.to_string(),
        source,
    }
}

/// Validity from now (backdated an hour for clock skew between nodes), never past `until`
/// (Unix seconds: the CA's notAfter, which no leaf may outlive).
fn validity(params: &mut CertificateParams, days: u32, until: Option<i64>) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    if let Some(end) = until.and_then(|u| time::OffsetDateTime::from_unix_timestamp(u).ok()) {
        params.not_after = params.not_after.min(end);
    }
}

fn serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    // Positive and without a leading zero byte, as RFC 5280 wants.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// A new self-signed CA named `common_name` (the cluster's, or etcd's): certificate and key, PEM.
pub fn ca(common_name: &str, days: u32) -> Result<(String, String), Error> {
    let key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err("the CA key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, CA_ORGANIZATION);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(serial());
    validity(&mut params, days, None);
    let cert = params
        .self_signed(&key)
        .map_err(gen_err("the CA certificate"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A signing key from PEM: PKCS#8 (EC or RSA), or PKCS#1 RSA (an operator's CA key).
pub fn load_key(pem: &str) -> Result<KeyPair, Error> {
    if let Ok(k) = KeyPair::from_pem(pem) {
        return Ok(k);
    }
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let rsa = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| Error::Generate {
            what: "a signing key from the key file".into(),
            source: rcgen::Error::CouldNotParseKeyPair,
        })?;
    let der = rsa.to_pkcs8_der().map_err(|_| Error::Generate {
        what: "a signing key from the key file".into(),
        source: rcgen::Error::CouldNotParseKeyPair,
    })?;
    KeyPair::try_from(der.as_bytes()).map_err(gen_err("a signing key from the key file"))
}

/// Issues `leaf` signed by the CA; `key` is reused when given. Returns the certificate and, when
/// a new key was made, the key (PEM).
pub fn leaf(
    leaf: &Leaf,
    ca_cert_pem: &str,
    ca_key_pem: &str,
    key: Option<KeyPair>,
    days: u32,
    ca_not_after: i64,
) -> Result<(String, Option<String>), Error> {
    let what = format!("{}.crt", leaf.name);
    let ca_key = load_key(ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, &ca_key).map_err(gen_err(&what))?;
    let (key, new) = match key {
        Some(k) => (k, false),
        None => (
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err(&what))?,
            true,
        ),
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, leaf.common_name.as_str());
    for o in &leaf.organizations {
        params
            .distinguished_name
            .push(DnType::OrganizationName, o.as_str());
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = Vec::new();
    if leaf.usage.server() {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if leaf.usage.client() {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    for d in &leaf.dns_names {
        let name = d.clone().try_into().map_err(gen_err(&what))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in &leaf.ip_addresses {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial());
    validity(&mut params, days, Some(ca_not_after));
    let cert = params.signed_by(&key, &issuer).map_err(gen_err(&what))?;
    Ok((cert.pem(), new.then(|| key.serialize_pem())))
}

/// A new RSA 2048 service-account key pair: PKCS#1 private key and SubjectPublicKeyInfo, PEM.
pub fn service_account_key() -> Result<(String, String), Error> {
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(Error::Rsa)?;
    let private = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| Error::Rsa(rsa::Error::Pkcs1(e)))?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Rsa(rsa::Error::Pkcs8(rsa::pkcs8::Error::PublicKey(e))))?;
    Ok((private.to_string(), public))
}

/// A DER SubjectPublicKeyInfo as a `PUBLIC KEY` PEM block.
pub fn public_key_pem(spki: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("PUBLIC KEY", spki),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
