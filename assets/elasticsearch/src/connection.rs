//! Which server an op talks to: the connector `terafoundation.connectors.elasticsearch-next.<name>`
//! (or the v2 type `elasticsearch.<name>`), parsed by teraslice-es as the state store parses its own.
use serde_json::{Map, Value};
use teraslice_es::ConnectionConfig;

use super::error::EsError;

/// Connector types searched, newest first.
const CONNECTOR_TYPES: [&str; 2] = ["elasticsearch-next", "elasticsearch"];

/// The connector `name` of `connectors` (`terafoundation.connectors`).
pub fn find(connectors: &Map<String, Value>, name: &str) -> Result<ConnectionConfig, EsError> {
    for kind in CONNECTOR_TYPES {
        if let Some(c) = connectors.get(kind).and_then(|m| m.get(name)) {
            let source = format!("terafoundation.connectors.{kind}.{name}");
            return ConnectionConfig::from_connector(&source, c)
                .map_err(|e| EsError::Config(format!("{} {}", e.key, e.problem)));
        }
    }
    let mut have: Vec<String> = CONNECTOR_TYPES
        .iter()
        .filter_map(|k| connectors.get(*k).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    have.sort();
    Err(EsError::Config(format!(
        "no connector \"{name}\" in terafoundation.connectors.elasticsearch-next (or .elasticsearch); configured: [{}]",
        have.join(", ")
    )))
}

/// A legacy op-level `connection` naming no connector (core checks only `_connection`); skipped
/// when the registry has no connectors (e.g. the master validating without them).
pub fn check_legacy(
    connectors: &Map<String, Value>,
    op: &Map<String, Value>,
) -> Option<teraslice_core::job::ValidationError> {
    let name = op.get("connection")?;
    if connectors.is_empty() {
        return None;
    }
    let problem = match name.as_str() {
        Some(n) => find(connectors, n).err()?.to_string(),
        None => format!(
            "must name a connector of terafoundation.connectors.elasticsearch-next, got {name}"
        ),
    };
    Some(teraslice_core::job::ValidationError {
        path: "connection".into(),
        message: problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connectors(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn finds_next_then_legacy_connectors_and_lists_known_ones() {
        let c = connectors(json!({
            "elasticsearch-next": {"default": {"node": ["localhost:9200"], "username": "u", "password": "p"}},
            "elasticsearch": {"old": {"host": "es:9200", "maxRetries": 7}},
        }));
        let d = find(&c, "default").expect("default");
        assert_eq!(d.nodes[0].as_str(), "http://localhost:9200/");
        assert!(matches!(d.auth, Some(teraslice_es::Auth::Basic { .. })));
        let o = find(&c, "old").expect("old");
        assert_eq!((o.nodes[0].as_str(), o.max_retries), ("http://es:9200/", 7));
        let e = find(&c, "nope").expect_err("missing");
        assert!(e.to_string().contains("[default, old]"), "{e}");
        let bad = connectors(json!({"elasticsearch-next": {"default": {"node": ["ftp://x"]}}}));
        let e = find(&bad, "default").expect_err("ftp");
        assert_eq!(
            e.to_string(),
            "terafoundation.connectors.elasticsearch-next.default.node \"ftp://x\" has scheme ftp; allowed: http, https"
        );
    }
}
