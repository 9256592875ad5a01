//! The certificate authorities every HTTPS client of the functions trusts: Mozilla's root program, compiled in
//! (the `webpki-root-certs` crate), plus the certificates of the PEM file `SSL_CERT_FILE` names, if it is set.
//!
//! The SDK's default HTTPS client and reqwest's default verifier both read the machine's CA store at start-up,
//! a bundle and a directory of single certificates, which was the largest part of a cold start's init
//! (BENCHMARKS.md, "Cold start steps"). Amazon Linux's CA bundle is built from the same Mozilla list, so the
//! compiled-in roots trust what the machine's store trusted, without reading it.

use std::sync::OnceLock;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use base64::Engine;
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

    /// These roots and every certificate of `pem` (one or more `BEGIN CERTIFICATE` blocks). Each is checked here,
    /// because the SDK's client panics on a root it cannot use, when it opens its first connection.
    pub fn with_pem(mut self, pem: &[u8]) -> Result<Self, RootsError> {
        let mut added = 0;
        for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let certificate = certificate.map_err(|e| RootsError::Pem { index, reason: e.to_string() })?;
            webpki::anchor_from_trusted_cert(&certificate)
                .map_err(|e| RootsError::Anchor { index, reason: e.to_string() })?;
            self.certificates.push(certificate);
            added += 1;
        }
        if added == 0 {
            return Err(RootsError::NoCertificate);
        }
        Ok(self)
    }

    /// The bundled roots plus those of the file `SSL_CERT_FILE` names, if it is set (one file read). A file that
    /// cannot be used is logged and left out: the bundled roots still serve every AWS and Huawei endpoint.
    pub fn from_env() -> Self {
        let roots = Self::bundled();
        let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) else { return roots };
        let path = path.to_string_lossy().into_owned();
        let added = std::fs::read(&path)
            .map_err(|source| RootsError::Read { path: path.clone(), source })
            .and_then(|pem| roots.clone().with_pem(&pem));
        added.unwrap_or_else(|e| {
            tracing::error!(error = %e, file = %path, "SSL_CERT_FILE ignored: only the bundled roots are trusted");
            roots
        })
    }

    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// An HTTPS client for the AWS SDK (rustls with aws-lc, as the SDK's default client) that trusts these roots
    /// and nothing else. The SDK takes roots as PEM only, so they are handed over as one PEM text.
    pub fn sdk_http_client(&self) -> SharedHttpClient {
        let context = TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(self.pem()))
            .build()
            .unwrap_or_default();
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

/// The process's roots ([`TrustRoots::from_env`]), built once.
pub fn process_roots() -> &'static TrustRoots {
    static ROOTS: OnceLock<TrustRoots> = OnceLock::new();
    ROOTS.get_or_init(TrustRoots::from_env)
}

/// The SDK HTTPS client of the process, built once and shared by every SDK client (one connection pool, one
/// TLS configuration).
pub fn sdk_http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| process_roots().sdk_http_client()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds_subject(roots: &TrustRoots, name: &str) -> bool {
        roots.certificates().iter().any(|der| der.windows(name.len()).any(|w| w == name.as_bytes()))
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
