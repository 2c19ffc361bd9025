//! What answered `GET /`: Elasticsearch or OpenSearch, and which version.
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Elasticsearch,
    OpenSearch,
}

/// The server's identity, from `version.distribution` and `version.number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub distribution: Distribution,
    pub version: String,
    pub major: u32,
}

impl ServerInfo {
    /// Reads the `GET /` answer; refuses what the store was not written for.
    pub fn from_root_answer(body: &Value) -> Result<Self, String> {
        let version = body
            .pointer("/version/number")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("the answer to GET / has no version.number, so this is not Elasticsearch or OpenSearch: {body}")
            })?;
        let distribution = match body
            .pointer("/version/distribution")
            .and_then(Value::as_str)
        {
            Some("opensearch") => Distribution::OpenSearch,
            // Elasticsearch leaves `distribution` out.
            None | Some("elasticsearch") => Distribution::Elasticsearch,
            Some(other) => {
                return Err(format!(
                "version.distribution is \"{other}\"; supported: Elasticsearch 7-8, OpenSearch 1-2"
            ))
            }
        };
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| format!("version.number \"{version}\" does not start with a number"))?;
        let supported = match distribution {
            Distribution::Elasticsearch => major >= 7,
            Distribution::OpenSearch => major >= 1,
        };
        let info = ServerInfo {
            distribution,
            version: version.to_string(),
            major,
        };
        if !supported {
            return Err(format!(
                "{info} is too old; supported: Elasticsearch 7 or newer, OpenSearch 1 or newer"
            ));
        }
        Ok(info)
    }

    /// Elasticsearch 8 and newer understand (and 9 needs for 8-style answers) the compat media type.
    pub fn wants_compat_8_headers(&self) -> bool {
        self.distribution == Distribution::Elasticsearch && self.major >= 8
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.distribution {
            Distribution::Elasticsearch => "Elasticsearch",
            Distribution::OpenSearch => "OpenSearch",
        };
        write!(f, "{name} {}", self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn distribution_and_headers_come_from_the_root_answer() {
        let os = ServerInfo::from_root_answer(
            &json!({"version": {"distribution": "opensearch", "number": "2.19.6"}}),
        )
        .expect("opensearch");
        assert_eq!((os.distribution, os.major), (Distribution::OpenSearch, 2));
        assert!(!os.wants_compat_8_headers());
        let es8 = ServerInfo::from_root_answer(
            &json!({"version": {"number": "8.15.0", "build_flavor": "default"}}),
        )
        .expect("es 8");
        assert!(es8.wants_compat_8_headers());
        let es7 =
            ServerInfo::from_root_answer(&json!({"version": {"number": "7.17.9"}})).expect("es 7");
        assert!(!es7.wants_compat_8_headers());
    }

    #[test]
    fn old_or_foreign_servers_are_refused_with_what_is_supported() {
        let e = ServerInfo::from_root_answer(&json!({"version": {"number": "6.8.0"}}))
            .expect_err("es 6");
        assert!(e.contains("Elasticsearch 6.8.0 is too old"), "{e}");
        let e = ServerInfo::from_root_answer(&json!({"ok": true})).expect_err("not es");
        assert!(e.contains("no version.number"), "{e}");
    }
}
