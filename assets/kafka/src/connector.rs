//! The `kafka` connector (teraslice-kafka-s3.md §1): `terafoundation.connectors.kafka.<name>`
//! mapped to librdkafka properties. Problems name the connector and the setting.
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::KafkaError;

/// librdkafka properties of one client, later layers overriding earlier ones.
pub type Properties = BTreeMap<String, String>;

/// Where the connectors live in the system config.
const PREFIX: &str = "terafoundation.connectors.kafka";

/// Connector fields mapped one to one to a librdkafka property.
const MAPPED: [(&str, &str); 6] = [
    ("ssl_ca_location", "ssl.ca.location"),
    ("caCertificate", "ssl.ca.pem"),
    ("ssl_certificate_location", "ssl.certificate.location"),
    ("ssl_key_location", "ssl.key.location"),
    ("ssl_key_password", "ssl.key.password"),
    ("ssl_crl_location", "ssl.crl.location"),
];

/// A parsed connector: its name and the properties every client on it starts from.
#[derive(Debug, Clone)]
pub struct Connector {
    /// `terafoundation.connectors.kafka.<name>`, for error messages.
    pub source: String,
    /// Layers 1 and 2 of §1: the mapped fields, then the connector's `rdkafka_options`.
    pub properties: Properties,
}

impl Connector {
    /// The brokers, as librdkafka got them.
    pub fn brokers(&self) -> &str {
        self.properties
            .get("metadata.broker.list")
            .map_or("", String::as_str)
    }
}

/// The connector `name` of `connectors` (`terafoundation.connectors`).
pub fn find(connectors: &Map<String, Value>, name: &str) -> Result<Connector, KafkaError> {
    let kafka = connectors.get("kafka").and_then(Value::as_object);
    let Some(config) = kafka.and_then(|k| k.get(name)) else {
        let mut have: Vec<&str> = kafka
            .map(|k| k.keys().map(String::as_str).collect())
            .unwrap_or_default();
        have.sort_unstable();
        return Err(KafkaError::Config(format!(
            "no connector \"{name}\" in {PREFIX}; configured: [{}]",
            have.join(", ")
        )));
    };
    parse(&format!("{PREFIX}.{name}"), config)
}

/// Parses one connector config found at `source`.
pub fn parse(source: &str, config: &Value) -> Result<Connector, KafkaError> {
    let bad =
        |field: &str, problem: String| KafkaError::Config(format!("{source}.{field} {problem}"));
    let Some(config) = config.as_object() else {
        return Err(KafkaError::Config(format!(
            "{source} must be an object, got {config}"
        )));
    };
    let mut properties = Properties::new();
    let brokers = match config.get("brokers") {
        None | Some(Value::Null) => "localhost:9092".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) => {
            let names: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
            names
                .ok_or_else(|| {
                    bad(
                        "brokers",
                        format!(
                            "must be a list of host:port strings, got {}",
                            Value::Array(list.clone())
                        ),
                    )
                })?
                .join(",")
        }
        Some(other) => {
            return Err(bad(
                "brokers",
                format!(
                    "must be a list of host:port strings or a comma-separated string, got {other}"
                ),
            ))
        }
    };
    if brokers.split(',').all(|b| b.trim().is_empty()) {
        return Err(bad(
            "brokers",
            "must name at least one broker (host:port)".into(),
        ));
    }
    properties.insert("metadata.broker.list".into(), brokers);
    match config.get("security_protocol") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if p == "plaintext" || p == "ssl" => {
            properties.insert("security.protocol".into(), p.clone());
        }
        Some(other) => {
            return Err(bad(
                "security_protocol",
                format!(
                    "must be one of plaintext, ssl (SASL goes in rdkafka_options), got {other}"
                ),
            ))
        }
    }
    for (field, property) in MAPPED {
        match config.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => {
                properties.insert(property.into(), v.clone());
            }
            Some(other) => return Err(bad(field, format!("must be a string, got {other}"))),
        }
    }
    match config.get("rdkafka_options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(options)) => {
            layer(&mut properties, options).map_err(|(k, v)| {
                bad(
                    &format!("rdkafka_options.{k}"),
                    format!("must be a string, number or boolean, got {v}"),
                )
            })?;
        }
        Some(other) => {
            return Err(bad(
                "rdkafka_options",
                format!("must be an object, got {other}"),
            ))
        }
    }
    Ok(Connector {
        source: source.to_string(),
        properties,
    })
}

/// Puts `options` over `properties`; null and `""` values are dropped (§1). On a value that is
/// not a scalar, returns its key and value.
pub fn layer(
    properties: &mut Properties,
    options: &Map<String, Value>,
) -> Result<(), (String, Value)> {
    for (key, value) in options {
        let text = match value {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => return Err((key.clone(), other.clone())),
        };
        match text {
            Some(t) => properties.insert(key.clone(), t),
            None => properties.remove(key),
        };
    }
    Ok(())
}

/// An rdkafka config of `properties`.
pub fn client_config(properties: &Properties) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    for (k, v) in properties {
        config.set(k, v);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connectors(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn maps_fields_then_rdkafka_options_win_and_errors_name_the_setting() {
        let c = connectors(json!({"kafka": {
            "default": {"brokers": ["a:9092", "b:9092"], "security_protocol": "ssl",
                "ssl_ca_location": "/ca.pem",
                "rdkafka_options": {"security.protocol": "sasl_ssl", "sasl.mechanisms": "PLAIN", "ssl.ca.location": ""}},
            "bad": {"brokers": 9092},
            "proto": {"security_protocol": "sasl"},
        }}));
        let d = find(&c, "default").expect("default");
        assert_eq!(d.brokers(), "a:9092,b:9092");
        assert_eq!(
            d.properties.get("security.protocol").map(String::as_str),
            Some("sasl_ssl")
        );
        assert_eq!(
            d.properties.get("sasl.mechanisms").map(String::as_str),
            Some("PLAIN")
        );
        assert!(
            !d.properties.contains_key("ssl.ca.location"),
            "\"\" drops the key"
        );
        let e = find(&c, "bad").expect_err("number");
        assert!(
            e.to_string()
                .starts_with("terafoundation.connectors.kafka.bad.brokers must be"),
            "{e}"
        );
        let e = find(&c, "proto").expect_err("sasl");
        assert!(
            e.to_string()
                .contains("kafka.proto.security_protocol must be one of plaintext, ssl"),
            "{e}"
        );
        let e = find(&c, "nope").expect_err("missing");
        assert_eq!(
            e.to_string(),
            "no connector \"nope\" in terafoundation.connectors.kafka; configured: [bad, default, proto]"
        );
        assert_eq!(
            find(&connectors(json!({"kafka": {"x": {}}})), "x")
                .expect("defaults")
                .brokers(),
            "localhost:9092"
        );
    }
}
