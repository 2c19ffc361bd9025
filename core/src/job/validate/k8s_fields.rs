//! The job fields that end up in Kubernetes objects (teraslice-k8s.md §3.2). They are accepted for
//! every cluster type here; a backend that cannot honour one ignores it with a warning
//! (`check_capabilities`).
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fields::{describe, Fields, Problems};
use super::k8s_names::{
    check_dns_label, check_env_var_name, check_label_key, check_label_value, check_port_name,
    sanitize_label_part,
};
use crate::job::{EnvVars, ExternalPort, JobConfig, Target, TargetConstraint, Volume};

/// The execution controller's port inside every pod; jobs may not claim it.
pub(crate) const RESERVED_EC_PORT: u16 = 45680;
/// The job's `labels` become Kubernetes labels under this prefix.
pub(crate) const JOB_LABEL_PREFIX: &str = "job.teraslice.terascope.io/";

fn objects<'a>(
    f: &mut Fields<'a, '_>,
    key: &str,
    what: &str,
) -> Vec<(String, &'a Map<String, Value>)> {
    let Some(items) = f.array(key, &format!("must be an array of {what}")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{}[{i}]", f.path(key));
        match item {
            Value::Object(m) => out.push((path, m)),
            other => f
                .problems
                .add(path, format!("must be {what}, got {}", describe(other))),
        }
    }
    out
}

/// A non-empty string field of a nested object.
fn string_in(f: &mut Fields, key: &str) -> Option<String> {
    match f.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            f.fail(
                key,
                format!(
                    "required, must be a non-empty string, got {}",
                    describe(other)
                ),
            );
            None
        }
        None => {
            f.fail(key, "required, must be a non-empty string");
            None
        }
    }
}

/// `targets` (also used for `teraslice.execution_controller_targets`).
pub(crate) fn targets(f: &mut Fields, key: &str) -> Vec<Target> {
    let what = "objects {key, value, constraint?: required|preferred|accepted}";
    let mut out = Vec::new();
    for (path, obj) in objects(f, key, what) {
        let mut t = Fields::new(obj, &format!("{path}."), f.problems);
        let k = string_in(&mut t, "key");
        if let Some(Err(e)) = k.as_deref().map(check_label_key) {
            t.fail("key", format!("{e} (target keys are node label keys)"));
        }
        // Teraslice only requires the value to be present; it becomes a node label value.
        let value = match t.get("value") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                t.fail(
                    "value",
                    format!("required, must be a string, got {}", describe(other)),
                );
                None
            }
            None => {
                t.fail("value", "required, must be a string");
                None
            }
        };
        if let Some(Err(e)) = value.as_deref().map(check_label_value) {
            t.fail(
                "value",
                format!("{e} (target values are node label values)"),
            );
        }
        let constraint = t.opt_one_of(
            "constraint",
            &[
                ("required", TargetConstraint::Required),
                ("preferred", TargetConstraint::Preferred),
                ("accepted", TargetConstraint::Accepted),
            ],
        );
        if let (Some(key), Some(value)) = (k, value) {
            out.push(Target {
                key,
                value,
                constraint,
            });
        }
    }
    out
}

pub(super) fn volumes(f: &mut Fields) -> Vec<Volume> {
    let mut out = Vec::new();
    for (path, obj) in objects(f, "volumes", "objects {name, path}") {
        let mut v = Fields::new(obj, &format!("{path}."), f.problems);
        let name = string_in(&mut v, "name");
        if let Some(Err(e)) = name.as_deref().map(check_dns_label) {
            v.fail("name", format!("volume name {e}"));
        }
        let mount = string_in(&mut v, "path");
        if let (Some(name), Some(path)) = (name, mount) {
            out.push(Volume { name, path });
        }
    }
    out
}

pub(super) fn external_ports(f: &mut Fields) -> Option<Vec<ExternalPort>> {
    let allowed = "must be an array of port numbers or {name, port} objects";
    let items = f.array("external_ports", allowed)?;
    let reserved =
        format!("port {RESERVED_EC_PORT} is reserved by Teraslice for the execution controller");
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("external_ports[{i}]");
        match item {
            Value::Object(obj) => {
                let mut p = Fields::new(obj, &format!("{path}."), f.problems);
                let name = string_in(&mut p, "name");
                if let Some(Err(e)) = name.as_deref().map(check_port_name) {
                    p.fail("name", e);
                }
                let port = p.opt_port("port");
                if p.get("port").is_none() {
                    p.fail("port", "required, must be a port number between 1 and 65535");
                }
                if port == Some(RESERVED_EC_PORT) {
                    p.fail("port", reserved.clone());
                }
                if let (Some(name), Some(port)) = (name, port.filter(|p| *p != RESERVED_EC_PORT)) {
                    out.push(ExternalPort::Named { name, port });
                }
            }
            other => match other.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(RESERVED_EC_PORT) => f.problems.add(path, reserved.clone()),
                Some(port) if port >= 1 => out.push(ExternalPort::Port(port)),
                _ => f.problems.add(
                    path,
                    format!(
                        "must be a port number between 1 and 65535 or a {{name, port}} object, got {}",
                        describe(other)
                    ),
                ),
            },
        }
    }
    Some(out)
}

pub(super) fn pod_spec_override(f: &mut Fields, overrides_enabled: bool) -> Map<String, Value> {
    let Some(spec) = f.object("pod_spec_override") else {
        return Map::new();
    };
    if !spec.is_empty() && !overrides_enabled {
        f.fail(
            "pod_spec_override",
            "not allowed on this cluster: it needs teraslice.kubernetes_overrides_enabled: true in the master's config; remove it or leave it {}",
        );
    }
    spec.clone()
}

/// `labels`: null or an object of strings; each becomes `job.teraslice.terascope.io/<key>`.
/// Keys and values are kept as given: the Kubernetes backend sanitizes them into valid labels
/// (as Teraslice does), so only what cannot become a label at all is refused.
pub(super) fn labels(f: &mut Fields) -> Option<BTreeMap<String, String>> {
    if matches!(f.raw("labels"), None | Some(Value::Null)) {
        return None;
    }
    let obj = f.object("labels")?;
    let mut out = BTreeMap::new();
    for (key, value) in obj {
        let path = format!("labels.{key}");
        if sanitize_label_part(key).is_empty() {
            f.problems.add(
                "labels",
                format!("label key \"{key}\" has no letter or digit, so it cannot become a Kubernetes label name"),
            );
            continue;
        }
        match value {
            Value::String(s) => {
                let (clean_key, clean_value) = (sanitize_label_part(key), sanitize_label_part(s));
                if clean_key != *key || clean_value != *s {
                    tracing::warn!(
                        label = %key,
                        value = %s,
                        becomes = %format!("{JOB_LABEL_PREFIX}{clean_key}={clean_value}"),
                        "job label is not a valid Kubernetes label; it is sanitized"
                    );
                }
                out.insert(key.clone(), s.clone());
            }
            other => f
                .problems
                .add(path, format!("must be a string, got {}", describe(other))),
        }
    }
    Some(out)
}

/// `env_vars`: an object of non-empty strings whose keys are valid env var names.
pub(crate) fn env_vars(f: &mut Fields) -> EnvVars {
    let Some(obj) = f.object("env_vars") else {
        return EnvVars::new();
    };
    let prefix = f.path("env_vars");
    let mut out = EnvVars::new();
    for (key, value) in obj {
        let path = format!("{prefix}.{key}");
        if let Err(e) = check_env_var_name(key) {
            f.problems.add(path.clone(), e);
        }
        match value {
            Value::String(s) if !s.is_empty() => {
                out.insert(key.clone(), s.clone());
            }
            other => f.problems.add(
                path,
                format!("must be a non-empty string, got {}", describe(other)),
            ),
        }
    }
    out
}

/// `cpu`/`memory` (deprecated) cannot be combined with the `resources_*` fields of the same kind.
pub(super) fn cross_rules(job: &JobConfig, problems: &mut Problems) {
    let kinds = [
        (
            "cpu",
            job.cpu,
            job.resources_requests_cpu,
            job.resources_limits_cpu,
        ),
        (
            "memory",
            job.memory,
            job.resources_requests_memory,
            job.resources_limits_memory,
        ),
    ];
    for (kind, old, requests, limits) in kinds {
        if old.is_some() && (requests.is_some() || limits.is_some()) {
            problems.add(
                kind,
                format!("cannot be combined with resources_requests_{kind} or resources_limits_{kind}; use only the resources_* fields ({kind} is deprecated)"),
            );
        }
    }
}
