//! The terafoundation `s3` connector (`terafoundation.connectors.s3.<name>`) and the
//! `object_store` client built from it for one bucket. Every error names the connector and the
//! setting at fault.
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{Certificate, ClientOptions, ObjectStore, RetryConfig};
use serde_json::{Map, Value};

/// A failure to read a connector or to build its client.
#[derive(Debug, thiserror::Error)]
#[error("terafoundation.connectors.s3.{connector}{}: {message}", setting.as_ref().map(|s| format!(".{s}")).unwrap_or_default())]
pub struct ConnectorError {
    pub connector: String,
    pub setting: Option<String>,
    pub message: String,
}

/// One `s3` connector's settings (Teraslice's `connectors/s3.ts` schema and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Connector {
    pub name: String,
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub max_retries: usize,
    pub ssl_enabled: bool,
    /// Extra CA certificates (PEM), from `caCertificate` or the file `certLocation`.
    pub ca_certificate: Option<String>,
    pub force_path_style: bool,
    pub bucket_endpoint: bool,
}

fn err(connector: &str, setting: Option<&str>, message: impl Into<String>) -> ConnectorError {
    ConnectorError {
        connector: connector.to_string(),
        setting: setting.map(str::to_string),
        message: message.into(),
    }
}

/// The connector `name` of `connectors` (`terafoundation.connectors`), checked.
pub fn find(connectors: &Map<String, Value>, name: &str) -> Result<S3Connector, ConnectorError> {
    let Some(cfg) = connectors
        .get("s3")
        .and_then(|m| m.get(name))
        .and_then(Value::as_object)
    else {
        let have: Vec<String> = connectors
            .get("s3")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        return Err(err(
            name,
            None,
            format!(
                "no such s3 connector (have: [{}]); set _connection to one of them",
                have.join(", ")
            ),
        ));
    };
    parse(name, cfg)
}

fn string(
    name: &str,
    cfg: &Map<String, Value>,
    key: &str,
    default: &str,
) -> Result<String, ConnectorError> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(err(name, Some(key), format!("must be a string, got {v}"))),
    }
}

fn boolean(
    name: &str,
    cfg: &Map<String, Value>,
    key: &str,
    default: bool,
) -> Result<bool, ConnectorError> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(err(
            name,
            Some(key),
            format!("must be true or false, got {v}"),
        )),
    }
}

/// Reads and checks one connector's settings.
pub fn parse(name: &str, cfg: &Map<String, Value>) -> Result<S3Connector, ConnectorError> {
    let endpoint = string(name, cfg, "endpoint", "127.0.0.1:80")?;
    let access_key_id = string(name, cfg, "accessKeyId", "")?;
    let secret_access_key = string(name, cfg, "secretAccessKey", "")?;
    if access_key_id.is_empty() {
        return Err(err(
            name,
            Some("accessKeyId"),
            "S3 accessKeyId must be defined in S3ClientConfig",
        ));
    }
    if secret_access_key.is_empty() {
        return Err(err(
            name,
            Some("secretAccessKey"),
            "S3 secretAccessKey must be defined in S3ClientConfig",
        ));
    }
    let region = string(name, cfg, "region", "us-east-1")?;
    let max_retries = match cfg.get("maxRetries") {
        None | Some(Value::Null) => 3,
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                err(
                    name,
                    Some("maxRetries"),
                    format!("must be an integer >= 0, got {v}"),
                )
            })?,
    };
    let ssl_enabled = boolean(name, cfg, "sslEnabled", true)?;
    let force_path_style = boolean(name, cfg, "forcePathStyle", false)?;
    let bucket_endpoint = boolean(name, cfg, "bucketEndpoint", false)?;
    let ca = string(name, cfg, "caCertificate", "")?;
    let location = string(name, cfg, "certLocation", "")?;
    if !ca.is_empty() && !location.is_empty() {
        return Err(err(
            name,
            Some("caCertificate"),
            "\"caCertificate\" and \"certLocation\" contradict.",
        ));
    }
    let ca_certificate = if !location.is_empty() {
        Some(std::fs::read_to_string(&location).map_err(|e| {
            err(
                name,
                Some("certLocation"),
                format!("No cert path was found in config.certLocation: \"{location}\" ({e})"),
            )
        })?)
    } else {
        Some(ca).filter(|c| !c.is_empty())
    };
    if ca_certificate.is_some() && !ssl_enabled {
        return Err(err(
            name,
            Some("sslEnabled"),
            "A certificate is provided but sslEnabled is set to \"false\".",
        ));
    }
    if ssl_enabled && !endpoint.contains("https") {
        return Err(err(name, Some("endpoint"), format!("S3 endpoint {endpoint} must be https if sslEnabled (set sslEnabled: false for plain http)")));
    }
    if !ssl_enabled && endpoint.contains("https") {
        return Err(err(
            name,
            Some("endpoint"),
            format!("S3 endpoint {endpoint} cannot be https if sslEnabled is false"),
        ));
    }
    Ok(S3Connector {
        name: name.to_string(),
        endpoint,
        access_key_id,
        secret_access_key,
        region,
        max_retries,
        ssl_enabled,
        ca_certificate,
        force_path_style,
        bucket_endpoint,
    })
}

impl S3Connector {
    /// The endpoint URL with a scheme (`127.0.0.1:80` → `http://127.0.0.1:80`).
    fn endpoint_url(&self) -> String {
        if self.endpoint.contains("://") {
            self.endpoint.trim_end_matches('/').to_string()
        } else {
            let scheme = if self.ssl_enabled { "https" } else { "http" };
            format!("{scheme}://{}", self.endpoint.trim_end_matches('/'))
        }
    }

    /// The client options: requests time out (connect 5 s, whole request 60 s), extra CAs.
    fn options(&self) -> Result<ClientOptions, ConnectorError> {
        let mut options = ClientOptions::new()
            .with_allow_http(!self.ssl_enabled)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(60));
        if let Some(pem) = &self.ca_certificate {
            let certs = Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                err(
                    &self.name,
                    Some("caCertificate"),
                    format!("not a PEM certificate bundle: {e}"),
                )
            })?;
            for c in certs {
                options = options.with_root_certificate(c);
            }
        }
        Ok(options)
    }

    /// The S3 client of `bucket`, retried `maxRetries` times, so an unreachable endpoint fails
    /// the op instead of hanging.
    fn client(&self, bucket: &str, options: ClientOptions) -> Result<AmazonS3, ConnectorError> {
        let retry = RetryConfig {
            max_retries: self.max_retries,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let mut endpoint = self.endpoint_url();
        let virtual_hosted = !self.force_path_style;
        if virtual_hosted && !self.bucket_endpoint {
            // object_store's virtual-hosted requests go to the endpoint as given: name the bucket.
            if let Some((scheme, host)) = endpoint.split_once("://") {
                endpoint = format!("{scheme}://{bucket}.{host}");
            }
        }
        AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(!self.ssl_enabled)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_region(&self.region)
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(virtual_hosted)
            .with_retry(retry)
            .with_client_options(options)
            .build()
            .map_err(|e| {
                err(
                    &self.name,
                    Some("endpoint"),
                    format!("cannot build an S3 client for {}: {e}", self.endpoint),
                )
            })
    }

    /// A client for `bucket`.
    pub fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, ConnectorError> {
        let client = self.client(bucket, self.options()?)?;
        Ok(Arc::new(client))
    }

    /// Creates `bucket` (S3 CreateBucket), which object_store has no call for: a PUT on the
    /// bucket's URL, SigV4-signed by object_store's presigner, sent with the same TLS options.
    /// Outside `us-east-1` the body names the region, as S3 requires.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let options = self.options().map_err(|e| e.to_string())?;
        let client = self
            .client(bucket, options.clone())
            .map_err(|e| e.to_string())?;
        let url = client
            .signed_url(Method::PUT, &Path::from(""), Duration::from_secs(300))
            .await
            .map_err(|e| format!("cannot sign the CreateBucket request: {e}"))?;
        let body = if self.region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
        };
        let request = http::Request::builder()
            .method(Method::PUT)
            .uri(url.as_str())
            // S3 (and moto) answer 411 to a PUT without Content-Length, even an empty one.
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(HttpRequestBody::from(body))
            .map_err(|e| format!("cannot build the CreateBucket request for {url}: {e}"))?;
        let http = ReqwestConnector::default()
            .connect(&options)
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let response = http
            .execute(request)
            .await
            .map_err(|e| format!("CreateBucket request failed: {e}"))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = match response.into_body().bytes().await {
            Ok(b) => String::from_utf8_lossy(&b).chars().take(500).collect(),
            Err(e) => format!("(no body: {e})"),
        };
        Err(format!("CreateBucket answered HTTP {status}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(v: Value) -> Result<S3Connector, ConnectorError> {
        let connectors = json!({"s3": {"default": v}});
        find(connectors.as_object().expect("object"), "default")
    }

    #[test]
    fn errors_name_the_connector_and_the_setting() {
        let cases = [
            (json!({"secretAccessKey": "s"}), "terafoundation.connectors.s3.default.accessKeyId: S3 accessKeyId must be defined"),
            (json!({"accessKeyId": "a"}), "terafoundation.connectors.s3.default.secretAccessKey: S3 secretAccessKey must be defined"),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "http://x:9000"}), "default.endpoint: S3 endpoint http://x:9000 must be https if sslEnabled"),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "https://x", "sslEnabled": false}), "cannot be https if sslEnabled is false"),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "caCertificate": "x", "certLocation": "/y"}), "\"caCertificate\" and \"certLocation\" contradict."),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "https://x", "certLocation": "/nope.pem"}), "default.certLocation: No cert path was found in config.certLocation: \"/nope.pem\""),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "http://x", "sslEnabled": false, "caCertificate": "PEM"}), "A certificate is provided but sslEnabled is set to \"false\"."),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "maxRetries": -1}), "default.maxRetries: must be an integer >= 0"),
            (json!({"accessKeyId": "a", "secretAccessKey": "s", "forcePathStyle": "yes"}), "default.forcePathStyle: must be true or false"),
        ];
        for (cfg, expected) in cases {
            let got = parse_json(cfg.clone())
                .expect_err("invalid connector")
                .to_string();
            assert!(got.contains(expected), "{cfg}: {got}");
        }
        let none = find(&Map::new(), "other").expect_err("missing").to_string();
        assert!(
            none.contains("terafoundation.connectors.s3.other: no such s3 connector"),
            "{none}"
        );
    }

    #[test]
    fn a_valid_connector_gets_teraslice_defaults_and_a_client() {
        let c = parse_json(json!({"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "http://127.0.0.1:9000", "sslEnabled": false, "forcePathStyle": true}))
            .expect("valid");
        assert_eq!(
            (c.region.as_str(), c.max_retries, c.bucket_endpoint),
            ("us-east-1", 3, false)
        );
        assert!(c.store("bucket").is_ok());
    }
}
