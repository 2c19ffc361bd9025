//! `operations` and `apis`: the common op/API schema (`_op`, `_name`, `_encoding`,
//! `_dead_letter_action`, `_connection`, `_api_name`), then each op's own schema via the catalog.
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::fields::{describe, list, Fields};
use super::{JobValidationContext, OpRole};
use crate::job::{ApiConfig, OpConfig};

const OPERATIONS_RULE: &str = "must be an array of at least 2 objects (a reader and a processor)";

/// Every connector name in `terafoundation.connectors` (of any type), sorted.
fn connector_names(ctx: &JobValidationContext) -> BTreeSet<String> {
    ctx.connectors
        .values()
        .filter_map(Value::as_object)
        .flat_map(|by_name| by_name.keys().cloned())
        .collect()
}

/// Checks that the first of `keys` present (`_connection`, legacy `connection`) names a connector.
fn check_connection(f: &mut Fields, keys: &[&str], connectors: &BTreeSet<String>) {
    let Some((key, value)) = keys.iter().find_map(|k| f.raw(k).map(|v| (*k, v))) else {
        return;
    };
    match value {
        Value::String(name) if connectors.contains(name) => {}
        Value::String(name) => {
            let have: Vec<&str> = connectors.iter().map(String::as_str).collect();
            f.fail(
                key,
                format!(
                    "no connector \"{name}\" in terafoundation.connectors (have: {})",
                    list(&have)
                ),
            );
        }
        other => f.fail(
            key,
            format!(
                "must be the name of a connector in terafoundation.connectors, got {}",
                describe(other)
            ),
        ),
    }
}

/// `_encoding` and `_dead_letter_action`, with Teraslice's defaults written into `obj`.
fn common_keys(f: &mut Fields, obj: &mut Map<String, Value>, default_encoding: bool) {
    let encoding = f.opt_one_of("_encoding", &[("json", "json"), ("raw", "raw")]);
    if encoding.is_none() && default_encoding && f.raw("_encoding").is_none() {
        obj.insert("_encoding".into(), Value::from("json"));
    }
    let action = f.optional_string("_dead_letter_action", Some("throw"));
    if f.raw("_dead_letter_action").is_none() {
        obj.insert("_dead_letter_action".into(), Value::from(action));
    }
}

/// `apis`: plain objects with unique `_name`s.
pub(super) fn apis(f: &mut Fields, ctx: &JobValidationContext, job: &Value) -> Vec<ApiConfig> {
    let Some(items) = f.array("apis", "must be an array of objects") else {
        return Vec::new();
    };
    let connectors = connector_names(ctx);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("apis[{i}]");
        let Value::Object(original) = item else {
            f.problems
                .add(path, format!("must be an object, got {}", describe(item)));
            continue;
        };
        let mut api = original.clone();
        let mut a = Fields::new(original, &format!("{path}."), f.problems);
        let name = a.required("_name").unwrap_or_default();
        if !name.is_empty() && !seen.insert(name.clone()) {
            a.fail("_name", format!("duplicate api name \"{name}\""));
        }
        check_connection(&mut a, &["_connection", "connection"], &connectors);
        common_keys(&mut a, &mut api, false);
        if let Some(catalog) = &ctx.ops {
            let errors = catalog.validate_api(&mut api, job);
            f.problems.extend_under(&path, errors);
        }
        out.push(ApiConfig(api));
    }
    out
}

/// The asset of `name@asset[:version]` when the catalog has built-in assets and not that one.
fn unknown_asset(catalog: &dyn super::OpCatalog, full_name: &str) -> Option<String> {
    let (_, asset) = full_name.split_once('@')?;
    let builtin = catalog.asset_names();
    let asset = super::asset_name(asset);
    (!builtin.is_empty() && catalog.asset_id(asset).is_none()).then(|| asset.to_string())
}

/// `operations`: a reader then at least one processor.
pub(super) fn operations(
    f: &mut Fields,
    apis: &[ApiConfig],
    ctx: &JobValidationContext,
    job: &Value,
) -> Vec<OpConfig> {
    let items = match f.get("operations") {
        Some(Value::Array(items)) => items,
        None => {
            f.fail("operations", format!("required, {OPERATIONS_RULE}"));
            return Vec::new();
        }
        Some(other) => {
            f.fail(
                "operations",
                format!("{OPERATIONS_RULE}, got {}", describe(other)),
            );
            return Vec::new();
        }
    };
    if items.len() < 2 {
        f.fail(
            "operations",
            format!("{OPERATIONS_RULE}, got {}", items.len()),
        );
    }
    let connectors = connector_names(ctx);
    let api_names: Vec<&str> = apis.iter().map(ApiConfig::name).collect();
    let known_ops = ctx.ops.as_ref().map(|c| {
        let mut names = c.op_names();
        names.sort();
        names
    });
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("operations[{i}]");
        let Value::Object(original) = item else {
            f.problems
                .add(path, format!("must be an object, got {}", describe(item)));
            continue;
        };
        let mut op = original.clone();
        let mut o = Fields::new(original, &format!("{path}."), f.problems);
        let full_name = o.required("_op").unwrap_or_default();
        check_connection(&mut o, &["_connection"], &connectors);
        if let Some((key, value)) = ["_api_name", "api_name"]
            .iter()
            .find_map(|k| o.raw(k).map(|v| (*k, v)))
        {
            match value.as_str() {
                Some(name) if api_names.contains(&name) => {}
                Some(name) => o.fail(
                    key,
                    format!(
                        "no api named \"{name}\" in apis (have: {})",
                        list(&api_names)
                    ),
                ),
                None => o.fail(
                    key,
                    format!(
                        "must be the _name of an entry in apis, got {}",
                        describe(value)
                    ),
                ),
            }
        }
        common_keys(&mut o, &mut op, true);
        if let (Some(catalog), Some(known)) = (&ctx.ops, &known_ops) {
            // `name@asset` names the op `name` from that asset.
            let bare = full_name.split('@').next().unwrap_or_default();
            if full_name.is_empty() {
                // Already reported as missing `_op`.
            } else if let Some(asset) = unknown_asset(catalog.as_ref(), &full_name) {
                o.fail(
                    "_op",
                    format!(
                        "\"{full_name}\" names the asset \"{asset}\", which is not available: the built-in assets are {} (uploaded assets are not run)",
                        list(&catalog.asset_names())
                    ),
                );
            } else if !known.iter().any(|k| k == bare) {
                o.fail(
                    "_op",
                    format!(
                        "unknown operation \"{bare}\", must be one of {}",
                        list(known)
                    ),
                );
            } else {
                let role = if i == 0 {
                    OpRole::Reader
                } else {
                    OpRole::Processor
                };
                let errors = catalog.validate_op(role, &mut op, job);
                f.problems.extend_under(&path, errors);
            }
        }
        out.push(OpConfig(op));
    }
    out
}
