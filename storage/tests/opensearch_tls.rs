//! `https` nodes: the test server behind a TLS front whose certificate a CA made here signed.
//! Trusted through `caCertificate` it works; without it opening fails, naming the cause;
//! `ssl.rejectUnauthorized: false` accepts it anyway.
mod opensearch_support;

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::{json, Value};
use teraslice_core::store::StateStore;
use teraslice_core::testing::store::fixtures::{at, job};
use teraslice_storage::{ElasticsearchOpenError, ElasticsearchStore};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use opensearch_support::{cluster_name, config, connection, opensearch_url, Cleanup};

/// Starts a TLS front for the test server; returns its `https://localhost:<port>` URL and the
/// CA certificate (PEM) that signed its certificate.
async fn tls_front() -> (String, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    // ring, explicitly: the workspace build also has rustls's aws-lc feature (object_store).
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("TLS config");
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let upstream = opensearch_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut plain) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (format!("https://localhost:{port}"), ca.pem())
}

async fn open_with(
    cluster: &str,
    node: &str,
    extra: Value,
) -> Result<ElasticsearchStore, ElasticsearchOpenError> {
    let mut cfg = config(cluster);
    cfg.connection = connection(json!([node]), extra);
    ElasticsearchStore::open(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_nodes_are_trusted_through_ca_certificate() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let (node, ca_pem) = tls_front().await;

    let store = open_with(&name, &node, json!({"caCertificate": ca_pem}))
        .await
        .expect("trusted through caCertificate");
    store
        .create_job(&job("job-tls", at(0)))
        .await
        .expect("create over TLS");
    assert_eq!(
        store.get_job("job-tls").await.expect("get").job_id,
        "job-tls"
    );

    let same = open_with(&name, &node, json!({"ssl": {"ca": ca_pem}})).await;
    assert!(same.is_ok(), "ssl.ca works too: {:?}", same.err());

    let err = open_with(&name, &node, json!({"startupTimeout": 0}))
        .await
        .expect_err("an unknown CA is refused");
    let text = err.to_string();
    assert!(
        matches!(err, ElasticsearchOpenError::Unreachable { .. }),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains("certificate"),
        "says why: {text}"
    );

    let lax = open_with(&name, &node, json!({"ssl": {"rejectUnauthorized": false}})).await;
    assert!(lax.is_ok(), "rejectUnauthorized false: {:?}", lax.err());
}
