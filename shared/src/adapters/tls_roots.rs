//! The certificate authorities the functions' HTTPS clients trust, compiled in (the `webpki-root-certs` crate, Mozilla's
//! root program), plus the certificates of the PEM file `SSL_CERT_FILE` names, if it is set:
//! - the Huawei client trusts the whole list;
//! - the AWS SDK's client trusts Amazon Trust Services' five roots, which every AWS endpoint's certificate chains
//!   to (in China's regions, whose endpoints this project has not checked, the whole list).
//!
//! The SDK's default HTTPS client and reqwest's default verifier both read the machine's CA store at start-up,
//! a bundle and a directory of single certificates, which was the largest part of a cold start's init
//! (BENCHMARKS.md, "Cold start steps"). Amazon Linux's CA bundle is built from the same Mozilla list, so the
//! compiled-in roots trust what the machine's store trusted, without reading it. The SDK parses its roots again when
//! it opens its first connection, on the first invocation's path: five roots instead of about 150 take that from
//! about 1.5 ms to almost nothing.

use std::sync::OnceLock;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use base64::Engine;
use memchr::memmem::Finder;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// A set of trusted root certificates (DER), each one checked to be usable as a trust anchor.
#[derive(Clone, Debug)]
pub struct TrustRoots {
    certificates: Vec<CertificateDer<'static>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("no PEM certificate in it")]
    NoCertificate,
    #[error("certificate {index} is not valid PEM: {reason}")]
    Pem { index: usize, reason: String },
    #[error("certificate {index} cannot be a trust anchor: {reason}")]
    Anchor { index: usize, reason: String },
}

impl TrustRoots {
    /// Mozilla's roots, as compiled in: no file is read.
    pub fn bundled() -> Self {
        Self { certificates: webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec() }
    }

    /// Amazon Trust Services' roots out of the compiled-in list: the five that authority asks a custom trust store
    /// to hold. AWS moved its service endpoints to certificates of its own authority from 2018 on (DynamoDB among
    /// the first); a root cross-signed by Starfield's G2 is kept for older chains (BENCHMARKS.md, "Cold start
    /// steps", step 3).
    /// Picked by name at start-up, one fast scan of the list (parsing every root to read its subject would
    /// cost what the smaller list saves).
    pub fn amazon() -> Self {
        let names: Vec<Finder<'_>> = AMAZON_TRUST_SERVICES_NAMES.iter().map(Finder::new).collect();
        let certificates = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|der| names.iter().any(|name| name.find(der).is_some()))
            .cloned()
            .collect();
        Self { certificates }
    }

    /// These roots and every certificate of `pem` (one or more `BEGIN CERTIFICATE` blocks). Each is checked here,
    /// because the SDK's client panics on a root it cannot use, when it opens its first connection.
    pub fn with_pem(mut self, pem: &[u8]) -> Result<Self, RootsError> {
        self.certificates.extend(checked_certificates(pem)?);
        Ok(self)
    }

    /// The bundled roots plus those of the file `SSL_CERT_FILE` names, if it is set. A file that cannot be used
    /// is logged and left out: the compiled-in roots still serve every AWS and Huawei endpoint.
    pub fn from_env() -> Self {
        Self::bundled().with_env_file()
    }

    /// These roots plus those of `SSL_CERT_FILE` ([`env_file_certificates`]).
    fn with_env_file(mut self) -> Self {
        self.certificates.extend_from_slice(env_file_certificates());
        self
    }

    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// An HTTPS client for the AWS SDK (rustls with aws-lc, as the SDK's default client) that trusts these roots
    /// and nothing else. The SDK takes roots as PEM only, so they are handed over as one PEM text.
    pub fn sdk_http_client(&self) -> SharedHttpClient {
        // Building it only fails on a root the SDK cannot take; every root was checked before (`with_pem`), so
        // this is a bug, and said so: the SDK's default context trusts the machine's store instead.
        let context = TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(self.pem()))
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the compiled-in roots gave no TLS context: the machine's CA store is trusted");
                TlsContext::default()
            });
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https()
    }

    /// The roots for reqwest's `ClientBuilder::tls_certs_only`.
    pub fn reqwest_certificates(&self) -> Result<Vec<reqwest::Certificate>, reqwest::Error> {
        self.certificates.iter().map(|der| reqwest::Certificate::from_der(der)).collect()
    }

    fn pem(&self) -> Vec<u8> {
        let mut pem = Vec::with_capacity(self.certificates.len() * 2048);
        for certificate in &self.certificates {
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            let text = base64::engine::general_purpose::STANDARD.encode(certificate);
            for line in text.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
        pem
    }
}

/// Every certificate of `pem`, each checked to be usable as a trust anchor; at least one.
fn checked_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, RootsError> {
    let mut certificates = Vec::new();
    for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let certificate = certificate.map_err(|e| RootsError::Pem { index, reason: e.to_string() })?;
        webpki::anchor_from_trusted_cert(&certificate)
            .map_err(|e| RootsError::Anchor { index, reason: e.to_string() })?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        return Err(RootsError::NoCertificate);
    }
    Ok(certificates)
}

/// The certificates of the PEM file `SSL_CERT_FILE` names (none when it is unset), read, checked and, when
/// unusable, logged once per process: the trigger's Huawei and AWS clients both add them.
fn env_file_certificates() -> &'static [CertificateDer<'static>] {
    static ADDED: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ADDED.get_or_init(|| {
        let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) else { return Vec::new() };
        let path = path.to_string_lossy().into_owned();
        let added = std::fs::read(&path)
            .map_err(|source| RootsError::Read { path: path.clone(), source })
            .and_then(|pem| checked_certificates(&pem));
        added.unwrap_or_else(|e| {
            tracing::error!(error = %e, file = %path, "SSL_CERT_FILE ignored: only the compiled-in roots are trusted");
            Vec::new()
        })
    })
}

/// What the names of Amazon Trust Services' five roots hold, and no other root's: `Amazon Root CA 1` to `4`, and
/// Starfield's `Starfield Services Root Certificate Authority - G2` (Starfield's other roots lack "Services").
const AMAZON_TRUST_SERVICES_NAMES: [&str; 2] =
    ["Amazon Root CA ", "Starfield Services Root Certificate Authority - G2"];

/// The roots of the process's Huawei client ([`TrustRoots::from_env`]: the whole compiled-in list), built once.
pub fn process_roots() -> &'static TrustRoots {
    static ROOTS: OnceLock<TrustRoots> = OnceLock::new();
    ROOTS.get_or_init(TrustRoots::from_env)
}

/// The roots the SDK's client trusts in `region`: Amazon Trust Services' ([`TrustRoots::amazon`]), or in China's
/// regions (`cn-`, another partition) the whole list; plus `SSL_CERT_FILE`'s either way.
pub fn aws_roots(region: Option<&str>) -> TrustRoots {
    compiled_in_aws_roots(region).with_env_file()
}

fn compiled_in_aws_roots(region: Option<&str>) -> TrustRoots {
    match region {
        Some(region) if region.starts_with("cn-") => TrustRoots::bundled(),
        _ => TrustRoots::amazon(),
    }
}

/// The SDK HTTPS client of the process, built once and shared by every SDK client (one connection pool, one
/// TLS configuration), trusting [`aws_roots`] of the function's region.
pub fn sdk_http_client(region: Option<&str>) -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| aws_roots(region).sdk_http_client()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds_subject(roots: &TrustRoots, name: &str) -> bool {
        roots.certificates().iter().any(|der| der.windows(name.len()).any(|w| w == name.as_bytes()))
    }

    #[test]
    fn the_aws_roots_are_amazon_trust_services_five_and_china_keeps_the_whole_list() {
        // Without SSL_CERT_FILE's additions, which the machine running the tests may set.
        let amazon = compiled_in_aws_roots(Some("us-east-1"));
        assert_eq!(amazon.certificates().len(), 5, "{:?}", amazon.certificates().len());
        let five = ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4"];
        for name in five.into_iter().chain(["Starfield Services Root Certificate Authority - G2"]) {
            assert!(holds_subject(&amazon, name), "{name} is missing from the AWS roots");
        }
        assert_eq!(compiled_in_aws_roots(None).certificates(), amazon.certificates());
        assert_eq!(compiled_in_aws_roots(Some("cn-north-1")).certificates(), TrustRoots::bundled().certificates());
    }

    #[test]
    fn the_bundled_roots_hold_the_authorities_of_aws_endpoints() {
        let roots = TrustRoots::bundled();
        assert!(roots.certificates().len() > 100, "Mozilla's list has about 150 roots: {}", roots.certificates().len());
        // DynamoDB, Secrets Manager, EventBridge and Scheduler certificates chain to Amazon's roots, which
        // Starfield's G2 root cross-signs for older clients.
        for name in ["Amazon Root CA 1", "Amazon Root CA 3", "Starfield Services Root Certificate Authority - G2"] {
            assert!(holds_subject(&roots, name), "{name} is missing from the bundled roots");
        }
    }

    #[test]
    fn the_pem_handed_to_the_sdk_holds_every_root() {
        let roots = TrustRoots::bundled();
        let parsed: Vec<_> = CertificateDer::pem_slice_iter(&roots.pem()).collect::<Result<_, _>>().expect("valid PEM");
        assert_eq!(parsed, roots.certificates());
    }

    #[test]
    fn a_pem_addition_is_checked_before_the_sdk_sees_it() {
        let one = TrustRoots::bundled();
        let first = &one.certificates()[0];
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend(base64::engine::general_purpose::STANDARD.encode(first).as_bytes());
        pem.extend(b"\n-----END CERTIFICATE-----\n");
        let added = TrustRoots::bundled().with_pem(&pem).expect("a real root is accepted");
        assert_eq!(added.certificates().len(), one.certificates().len() + 1);

        assert!(matches!(TrustRoots::bundled().with_pem(b"no certificate here"), Err(RootsError::NoCertificate)));
        let not_a_certificate = b"-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
        assert!(matches!(TrustRoots::bundled().with_pem(not_a_certificate), Err(RootsError::Anchor { index: 0, .. })));
    }
}
