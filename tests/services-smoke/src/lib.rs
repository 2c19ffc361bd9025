//! Where the test services are, read from the variables `cargo xtask test` sets. A test that needs
//! a service and finds its variable unset fails (panics) saying how to start it: it never skips.

fn required(name: &str, service: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `cargo xtask {service} up` and `eval \"$(cargo xtask {service} env)\"`, \
             or run the tests with `cargo xtask test`"
        )
    })
}

/// `$KAFKA_BROKERS`: the bootstrap servers, `host:port[,host:port]`.
pub fn kafka_brokers() -> String {
    required("KAFKA_BROKERS", "kafka")
}

/// The S3 server and the credentials it takes (`$S3_ENDPOINT`, `$S3_ACCESS_KEY_ID`,
/// `$S3_SECRET_ACCESS_KEY`, `$S3_REGION`).
pub struct S3Env {
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

pub fn s3_env() -> S3Env {
    S3Env {
        endpoint: required("S3_ENDPOINT", "s3"),
        access_key_id: required("S3_ACCESS_KEY_ID", "s3"),
        secret_access_key: required("S3_SECRET_ACCESS_KEY", "s3"),
        region: required("S3_REGION", "s3"),
    }
}

/// A name no earlier run used, so tests never see each other's topics, groups or buckets.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
