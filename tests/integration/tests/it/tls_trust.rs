//! The functions trust compiled-in roots instead of the machine's CA store (shared/src/adapters/tls_roots.rs),
//! and a wrong trust store means no TLS at all. These tests complete real handshakes on 127.0.0.1: a certificate
//! authority of the test's own (root → intermediate → server certificate for 127.0.0.1), an HTTPS proxy that
//! presents that chain in front of DynamoDB Local or the platform simulator, and the functions' clients trusting
//! that root through the same code the Lambdas run. Each success is paired with the same request from a client
//! without the test root, which must fail on the certificate: so a client that verified nothing, or trusted
//! other roots than it was given, would turn these red.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use integration_tests::events::{event_json, Envelope};
use integration_tests::measure::cold_start::{measure, Target};
use integration_tests::measure::{function_env, TOKEN};
use integration_tests::{debug_binary, fixture, DynamoLocal};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;
use voice_core::adapters::{aws_env, CallVerifyClient, TrustRoots};
use voice_core::calls::attempt::Attempt;
use voice_core::calls::CallRequest;
use voice_core::huawei::AppCredentials;

/// A test CA and the server configuration that presents its chain for 127.0.0.1.
struct TestAuthority {
    root_pem: String,
    server: Arc<ServerConfig>,
}

fn authority() -> TestAuthority {
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    };
    let root = CertifiedIssuer::self_signed(ca("tls-trust test root"), KeyPair::generate().expect("key"))
        .expect("root certificate");
    let intermediate =
        CertifiedIssuer::signed_by(ca("tls-trust test intermediate"), KeyPair::generate().expect("key"), &root)
            .expect("intermediate certificate");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("leaf");
    leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = leaf.signed_by(&leaf_key, &intermediate).expect("server certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        // The chain as a real server sends it: its own certificate, then the intermediate; never the root.
        .with_single_cert(vec![leaf.der().clone(), intermediate.der().clone()], key)
        .expect("server configuration");
    TestAuthority { root_pem: root.pem(), server: Arc::new(server) }
}

/// An HTTPS front on 127.0.0.1 for the plain-HTTP server at `upstream`: each connection's TLS is ended here
/// and its bytes are copied to and from the upstream. Lives as long as the test's runtime.
async fn https_proxy(upstream: SocketAddr, server: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let acceptor = TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends its handshake here; nothing to forward then.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut upstream) = TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    addr
}

fn socket_of(http_url: &str) -> SocketAddr {
    http_url.trim_start_matches("http://").trim_end_matches('/').parse().expect("an http://127.0.0.1:port URL")
}

/// A DynamoDB client built as the functions build theirs ([`aws_env::sdk_config_with`]), over `roots`.
fn dynamodb_client(roots: &TrustRoots, endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&aws_env::sdk_config_with(roots.sdk_http_client()))
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    voice_core::telemetry::error_chain(error)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_client_trusts_the_roots_it_is_given_and_no_others() {
    let ca = authority();
    let proxy = https_proxy(socket_of(&DynamoLocal::shared().endpoint()), ca.server.clone()).await;
    let endpoint = format!("https://{proxy}");

    let trusted = TrustRoots::bundled().with_pem(ca.root_pem.as_bytes()).expect("the test root is usable");
    let tables = dynamodb_client(&trusted, &endpoint).list_tables().limit(1).send().await;
    assert!(tables.is_ok(), "the handshake through the test chain failed: {}", error_chain(&tables.unwrap_err()));

    let refused = dynamodb_client(&TrustRoots::bundled(), &endpoint).list_tables().limit(1).send().await;
    let error = error_chain(&refused.expect_err("Mozilla's roots do not know the test root"));
    assert!(error.contains("certificate") || error.contains("UnknownIssuer"), "not a certificate error: {error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_huawei_client_trusts_the_roots_it_is_given_and_no_others() {
    let ca = authority();
    let sim = voice_platform_sim::start(voice_platform_sim::Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..voice_platform_sim::Config::default()
    })
    .await
    .expect("simulator");
    let proxy = https_proxy(socket_of(&sim.base_url()), ca.server.clone()).await;
    let base_url = format!("https://{proxy}");
    let credentials = AppCredentials { app_key: "local-app-key".into(), app_secret: "local-app-secret".into() };
    let url = || "aHR0cDovLzEyNy4wLjAuMTo5".to_owned();
    let request = CallRequest {
        callee_nbr: voice_core::ids::CalleeNumber::parse("+8613800000001").expect("a number"),
        verify_code: None,
        code_length: 4,
        verification_id: None,
        display_nbr: "+8675528000088".into(),
        language_type: 2,
        pre_tone: "welcome.wav".into(),
        pos_tone: None,
        times: None,
        user_data: None,
        idempotency_key: None,
    };

    let code = voice_core::ids::VerificationCode::parse("1234").expect("a code");
    let trusted = TrustRoots::bundled().with_pem(ca.root_pem.as_bytes()).expect("the test root is usable");
    let client = CallVerifyClient::with_roots(&base_url, credentials.clone(), url(), url(), &trusted).expect("client");
    match client.send(&request, &code, Duration::from_secs(5)).await {
        Attempt::Answered { status, .. } => assert!(status < 500, "the simulator answered {status}"),
        other => panic!("the handshake through the test chain failed: {other:?}"),
    }

    let refused = CallVerifyClient::with_roots(&base_url, credentials, url(), url(), &TrustRoots::bundled())
        .expect("client")
        .send(&request, &code, Duration::from_secs(5))
        .await;
    match refused {
        Attempt::NotSent(reason) => assert!(reason.contains("certificate"), "not a certificate error: {reason}"),
        other => panic!("Mozilla's roots do not know the test root, yet: {other:?}"),
    }
}

/// The deployed configuration end to end: the status-callback binary, started cold as Lambda starts it, stores
/// a push in DynamoDB through the HTTPS proxy when `SSL_CERT_FILE` adds the test root, and cannot without it.
#[tokio::test(flavor = "multi_thread")]
async fn the_function_binary_stores_through_tls_with_its_trust_store() {
    let ca = authority();
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let proxy = https_proxy(socket_of(&dynamodb.endpoint()), ca.server.clone()).await;
    let root_file = std::env::temp_dir().join(format!("{}.pem", integration_tests::unique_name("tls-root")));
    std::fs::write(&root_file, &ca.root_pem).expect("write the test root");
    let mut env = function_env(store.table(), &dynamodb.endpoint());
    env.retain(|(name, _)| name != "AWS_ENDPOINT_URL_DYNAMODB");
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), format!("https://{proxy}")));
    // A failed write answers 503 at once instead of after the default 3 s of retries.
    env.push(("STORE_RETRY_BUDGET_MS".into(), "200".into()));
    let target = |name: &str, env: Vec<(String, String)>| Target {
        name: name.to_owned(),
        binary: debug_binary("status-callback"),
        env,
        event: Box::new(|round| {
            let session = format!("1201_612_{round}_20190124030424@tls-trust.example.com");
            let body = fixture("huawei/status-callout.json")
                .replace("1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com", &session);
            let headers = [("content-type", "application/json;charset=UTF-8")];
            event_json(Envelope::HttpApi, "POST", &format!("/voice/status/{TOKEN}"), body.as_bytes(), false, &headers)
        }),
    };
    let mut with_root = env.clone();
    with_root.push(("SSL_CERT_FILE".into(), root_file.display().to_string()));

    let results = measure(&[target("with the test root", with_root), target("bundled roots only", env)], 1).await;
    let _ = std::fs::remove_file(&root_file);

    let answer = |i: usize| results[i].answers.first().cloned().unwrap_or(json!(null));
    assert_eq!(answer(0)["statusCode"], 200, "stored through TLS: {:?} {:?}", answer(0), results[0].failures);
    assert_eq!(answer(1)["statusCode"], 503, "no trust, no store: {:?} {:?}", answer(1), results[1].failures);
    let stored = store.all_records().await.expect("read the table");
    assert_eq!(stored.len(), 1, "one record, written by the process that trusted the chain: {stored:?}");
}
