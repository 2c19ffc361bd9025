//! Kubernetes' rules for names and labels (apimachinery `validation.go`), checked when a job is
//! submitted so a bad label fails there rather than when the backend creates the pods.
//! Each check returns what is wrong and what is allowed.

const LABEL_NAME_RULE: &str = "must be 63 characters or less, consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
const DNS_LABEL_RULE: &str = "must be 63 characters or less, consist of lowercase alphanumeric characters or '-', and start and end with an alphanumeric character";
const DNS_SUBDOMAIN_RULE: &str = "must be 253 characters or less, consist of lowercase alphanumeric characters, '-' or '.', and start and end with an alphanumeric character";

/// A user label's key (after `job.teraslice.terascope.io/`) or value as a valid Kubernetes label
/// part: Teraslice's rule (every char outside `[A-Za-z0-9-._]` becomes `-`, cut to 63), then the
/// ends trimmed to a letter or digit, which Kubernetes requires and Teraslice leaves as they are
/// (`key2%` → Teraslice `key2-`, refused by the API server; here `key2`).
pub fn sanitize_label_part(s: &str) -> String {
    let replaced: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    replaced
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// A valid DNS-1123 subdomain (an object name such as a ConfigMap's) derived from `s`:
/// lowercase, every char outside `[a-z0-9-.]` becomes `-`, each dot-separated part trimmed to a
/// letter or digit (empty parts dropped), cut to 253. `ts_dev.1-worker` → `ts-dev.1-worker`.
pub fn dns_subdomain_from(s: &str) -> String {
    let lower: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<String> = lower
        .split('.')
        .map(|p| {
            let p: String = p.chars().take(63).collect();
            p.trim_matches('-').to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut out: String = parts.join(".").chars().take(253).collect();
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    out
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 of `[A-Za-z0-9._-]`.
pub(crate) fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !is_dns_subdomain(p) {
            return Err(format!(
                "label key \"{key}\": the prefix before '/' {DNS_SUBDOMAIN_RULE}"
            ));
        }
    }
    if !is_label_name(name) {
        return Err(format!(
            "label key \"{key}\": the name {LABEL_NAME_RULE} (at most one '/' separates an optional DNS-subdomain prefix)"
        ));
    }
    Ok(())
}

/// A label value: empty, or ≤ 63 of `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub(crate) fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        return Ok(());
    }
    Err(format!(
        "label value \"{value}\" {LABEL_NAME_RULE} (or be empty)"
    ))
}

/// A DNS-1123 label (volume names, most object names).
pub(crate) fn check_dns_label(name: &str) -> Result<(), String> {
    if is_dns_label(name) {
        return Ok(());
    }
    Err(format!("\"{name}\" {DNS_LABEL_RULE}"))
}

/// A DNS-1123 subdomain (ConfigMap and Secret names).
pub(crate) fn check_dns_subdomain(name: &str) -> Result<(), String> {
    if is_dns_subdomain(name) {
        return Ok(());
    }
    Err(format!("\"{name}\" {DNS_SUBDOMAIN_RULE}"))
}

/// A container env var name: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub(crate) fn check_env_var_name(name: &str) -> Result<(), String> {
    let ok_first = |c: u8| c.is_ascii_alphabetic() || matches!(c, b'-' | b'.' | b'_');
    let b = name.as_bytes();
    if !b.is_empty() && ok_first(b[0]) && b.iter().all(|c| ok_first(*c) || c.is_ascii_digit()) {
        return Ok(());
    }
    Err(format!(
        "env var name \"{name}\" must consist of letters, digits, '-', '.' or '_', and must not start with a digit"
    ))
}

/// A container port name (IANA service name): ≤ 15 of `[a-z0-9-]`, with a letter, no `--`,
/// not starting or ending with `-`.
pub(crate) fn check_port_name(name: &str) -> Result<(), String> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        return Ok(());
    }
    Err(format!(
        "port name \"{name}\" must be 15 characters or less, consist of lowercase letters, digits or '-', contain a letter, and not start or end with '-' or contain \"--\""
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_follow_kubernetes_rules() {
        assert!(check_label_key("job.teraslice.terascope.io/team").is_ok());
        assert!(check_label_key("app_Name.v1").is_ok());
        assert!(check_label_key(&"a".repeat(63)).is_ok());
        assert!(check_label_key(&"a".repeat(64)).is_err());
        assert!(check_label_key("job.teraslice.terascope.io/key 1").is_err());
        assert!(check_label_key("job.teraslice.terascope.io/a/b").is_err());
        assert!(check_label_key("Upper.Case/x").is_err());
        assert!(check_label_key("-x").is_err());
        assert!(check_label_key("").is_err());
    }

    #[test]
    fn label_values_may_be_empty_but_not_odd() {
        assert!(check_label_value("").is_ok());
        assert!(check_label_value("v1.2_3-x").is_ok());
        assert!(check_label_value("a b").is_err());
        assert!(check_label_value("x-").is_err());
        assert!(check_label_value(&"v".repeat(64)).is_err());
    }

    #[test]
    fn names_and_env_vars() {
        assert!(check_dns_label("data-01").is_ok());
        assert!(check_dns_label("Data").is_err());
        assert!(check_dns_label("a.b").is_err());
        assert!(check_env_var_name("MY_VAR.x-1").is_ok());
        assert!(check_env_var_name("_x").is_ok());
        assert!(check_env_var_name("1X").is_err());
        assert!(check_env_var_name("A=B").is_err());
        assert!(check_port_name("metrics").is_ok());
        assert!(check_port_name("8080").is_err());
        assert!(check_port_name("a--b").is_err());
        assert!(check_port_name("much-too-long-name").is_err());
    }
}
