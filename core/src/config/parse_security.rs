//! Reading the security keys of `teraslice.*` (see [`SecurityConfig`]).
use std::path::PathBuf;

use serde_json::Value;

use super::security::{ApiRole, ApiToken, SecurityConfig};
use crate::job::validate::fields::{describe, Fields};
use crate::job::validate::k8s_names::check_dns_subdomain;

pub(super) const KEYS: &[&str] = &[
    "api_tokens",
    "api_tokens_file",
    "kubernetes_allowed_images",
    "kubernetes_execution_service_account",
    "file_roots",
    "max_workers_per_job",
    "max_slicers_per_job",
];

pub(super) fn security(f: &mut Fields) -> SecurityConfig {
    let d = SecurityConfig::default();
    let service_account = f.optional_string("kubernetes_execution_service_account", None);
    if let Some(name) = &service_account {
        if let Err(e) = check_dns_subdomain(name) {
            f.fail(
                "kubernetes_execution_service_account",
                format!("ServiceAccount name {e}"),
            );
        }
    }
    SecurityConfig {
        api_tokens: api_tokens(f),
        api_tokens_file: f.optional_string("api_tokens_file", None).map(PathBuf::from),
        kubernetes_allowed_images: strings(
            f,
            "kubernetes_allowed_images",
            "must be a list of image names or prefixes (ending in / or *), or [\"*\"] for any image",
        ),
        kubernetes_execution_service_account: service_account,
        file_roots: strings(f, "file_roots", "must be a list of directory paths")
            .map(|roots| roots.into_iter().map(PathBuf::from).collect()),
        max_workers_per_job: positive(f, "max_workers_per_job", d.max_workers_per_job),
        max_slicers_per_job: positive(f, "max_slicers_per_job", d.max_slicers_per_job),
    }
}

fn positive(f: &mut Fields, key: &str, default: u32) -> u32 {
    let n = f.nat(key, default);
    if n == 0 {
        f.fail(key, "must be at least 1");
        return default;
    }
    n
}

/// A list of non-empty strings (a single string is a list of one).
fn strings(f: &mut Fields, key: &str, allowed: &str) -> Option<Vec<String>> {
    let items = match f.get(key)? {
        Value::String(s) if !s.is_empty() => return Some(vec![s.clone()]),
        Value::Array(items) => items,
        other => {
            f.fail(key, format!("{allowed}, got {}", describe(other)));
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            other => f.problems.add(
                format!("{}[{i}]", f.path(key)),
                format!("must be a non-empty string, got {}", describe(other)),
            ),
        }
    }
    Some(out)
}

/// `api_tokens`: each item a token string (admin) or `{token, role}`.
fn api_tokens(f: &mut Fields) -> Vec<ApiToken> {
    let key = "api_tokens";
    let allowed =
        "must be a list whose items are a token string or {token, role} with role admin or read";
    let Some(items) = f.array(key, allowed) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{}[{i}]", f.path(key));
        match item {
            Value::String(s) if !s.trim().is_empty() => out.push(ApiToken {
                token: s.trim().to_string(),
                role: ApiRole::Admin,
            }),
            Value::Object(m) => {
                let token = m.get("token").and_then(Value::as_str).map(str::trim);
                let role = match m.get("role") {
                    None | Some(Value::Null) => Some(ApiRole::Admin),
                    Some(Value::String(r)) => ApiRole::parse(r),
                    Some(_) => None,
                };
                match (token, role) {
                    (Some(t), Some(role)) if !t.is_empty() => out.push(ApiToken {
                        token: t.to_string(),
                        role,
                    }),
                    (Some(t), _) if !t.is_empty() => f.problems.add(
                        format!("{path}.role"),
                        format!("must be one of {}", ApiRole::ALLOWED),
                    ),
                    _ => f.problems.add(
                        format!("{path}.token"),
                        "is required: a non-empty token string",
                    ),
                }
            }
            // Never echo what could be a secret.
            _ => f
                .problems
                .add(path, format!("{allowed}; got an empty or non-string value")),
        }
    }
    out
}
