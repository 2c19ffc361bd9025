//! Ours: the `teraslice` keys that close Teraslice's open doors (docs/security.md): API tokens,
//! the images jobs may run, the execution pods' ServiceAccount, the directories file ops may
//! touch, and per-job limits. Each defaults to what a Teraslice user expects, except where the
//! default would let anyone who reaches the master run anything (see docs/compat.md).
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// What a bearer token may do on the master API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiRole {
    /// Every route.
    Admin,
    /// `GET` routes only.
    Read,
}

impl ApiRole {
    pub const ALLOWED: &'static str = "admin, read";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "read" => Some(Self::Read),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Read => "read",
        }
    }
}

/// One `teraslice.api_tokens` entry. Its `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub token: String,
    pub role: ApiRole,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// `teraslice.max_workers_per_job` when unset.
pub const DEFAULT_MAX_WORKERS_PER_JOB: u32 = 256;
/// `teraslice.max_slicers_per_job` when unset.
pub const DEFAULT_MAX_SLICERS_PER_JOB: u32 = 64;

/// The security keys of `teraslice.*` (flattened into that section).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityConfig {
    /// Bearer tokens the master API accepts; empty (and no `api_tokens_file`) = the API is open,
    /// as Teraslice's. Never serialized.
    #[serde(skip)]
    pub api_tokens: Vec<ApiToken>,
    /// A file of more tokens, read by the master at start: one `<token>` or `<token> <role>` a
    /// line; blank lines and `#` comments are skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_tokens_file: Option<PathBuf>,
    /// Images a job's `kubernetes_image` may name: exact names, prefixes ending in `/` or `*`, or
    /// `"*"` for any. `None` = only `teraslice.kubernetes_image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_allowed_images: Option<Vec<String>>,
    /// The ServiceAccount of execution pods (EC and workers), whose token is never mounted.
    /// `None` = the namespace's `default` account (still without a token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_execution_service_account: Option<String>,
    /// Native: the directories `file_reader`/`file_exporter` may use. `None` = anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_roots: Option<Vec<PathBuf>>,
    /// Most workers one execution may ask for. Default 256.
    pub max_workers_per_job: u32,
    /// Most slicers one job may ask for. Default 64.
    pub max_slicers_per_job: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            api_tokens: Vec::new(),
            api_tokens_file: None,
            kubernetes_allowed_images: None,
            kubernetes_execution_service_account: None,
            file_roots: None,
            max_workers_per_job: DEFAULT_MAX_WORKERS_PER_JOB,
            max_slicers_per_job: DEFAULT_MAX_SLICERS_PER_JOB,
        }
    }
}

/// Whether `image` matches one `kubernetes_allowed_images` entry: `"*"` matches anything, an
/// entry ending in `*` or `/` is a prefix (`registry.example.com/team/`), anything else must be
/// equal.
pub fn image_allowed_by(entry: &str, image: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some(prefix) = entry.strip_suffix('*') {
        return image.starts_with(prefix);
    }
    if entry.ends_with('/') {
        return image.starts_with(entry);
    }
    entry == image
}

/// Parses an `api_tokens_file`: one `<token>` (admin) or `<token> <role>` a line.
pub fn parse_tokens_file(text: &str) -> Result<Vec<ApiToken>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let token = parts.next().unwrap_or_default().to_string();
        let role = match parts.next() {
            None => ApiRole::Admin,
            Some(r) => ApiRole::parse(r).ok_or_else(|| {
                format!(
                    "line {}: unknown role \"{r}\", must be one of {}",
                    n + 1,
                    ApiRole::ALLOWED
                )
            })?,
        };
        if parts.next().is_some() {
            return Err(format!(
                "line {}: must be \"<token>\" or \"<token> <role>\"",
                n + 1
            ));
        }
        out.push(ApiToken { token, role });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_entries_match_exactly_or_by_prefix() {
        assert!(image_allowed_by("*", "anything:1"));
        assert!(image_allowed_by("teraslice:k8sdev", "teraslice:k8sdev"));
        assert!(!image_allowed_by("teraslice:k8sdev", "teraslice:k8sdev2"));
        assert!(image_allowed_by(
            "reg.example.com/team/",
            "reg.example.com/team/ts:1"
        ));
        assert!(!image_allowed_by(
            "reg.example.com/team/",
            "reg.example.com/other/ts:1"
        ));
        assert!(image_allowed_by("teraslice:*", "teraslice:v2"));
        assert!(!image_allowed_by("teraslice:*", "evil/teraslice:v2"));
    }

    #[test]
    fn a_tokens_file_has_one_token_a_line_with_an_optional_role() {
        let tokens = parse_tokens_file("# ops\nabc\n\ndef read\n").expect("parses");
        assert_eq!(
            tokens,
            vec![
                ApiToken {
                    token: "abc".into(),
                    role: ApiRole::Admin
                },
                ApiToken {
                    token: "def".into(),
                    role: ApiRole::Read
                },
            ]
        );
        let err = parse_tokens_file("abc writer").expect_err("bad role");
        assert!(err.contains("line 1") && err.contains("writer"), "{err}");
        assert!(format!("{:?}", tokens[0]).contains("<redacted>"));
    }
}
