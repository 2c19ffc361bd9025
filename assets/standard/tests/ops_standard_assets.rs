//! The assets registered (`file`, `elasticsearch`, `standard`, as the `teraslice` binary does):
//! a job may list them with any version; any other asset, an `op@asset` of another asset, or an
//! op no asset provides is rejected at validation, naming it.
mod ops_standard_support;

use ops_standard_support::{registry, validate};
use serde_json::{json, Value};
use teraslice_core::job::validate::OpCatalog;

fn job(assets: Value, op: &str) -> Value {
    json!({"name": "assets", "assets": assets,
        "operations": [{"_op": "test-reader"}, {"_op": op, "field": "a"}]})
}

/// The message of the problem at `path`, if any.
fn problem(job: Value, path: &str) -> Option<String> {
    let errors = validate(job).err()?;
    errors
        .into_iter()
        .find(|e| e.path == path)
        .map(|e| e.message)
}

#[test]
fn built_in_assets_validate_with_or_without_a_version() {
    for assets in [
        json!(["standard", "elasticsearch", "file"]),
        json!([
            "standard:1.2.0",
            "standard@1.2.0",
            "elasticsearch:^2.7.7",
            "file:latest"
        ]),
        json!([]),
        Value::Null,
    ] {
        let v = validate(job(assets.clone(), "set_key"));
        assert!(v.is_ok(), "{assets}: {v:?}");
    }
    let v = validate(job(json!(["standard"]), "set_key@standard:2.1.2"));
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn other_assets_are_rejected_naming_them() {
    let m = problem(
        job(json!(["standard", "example-asset:1.0.0"]), "set_key"),
        "assets[1]",
    );
    let m = m.unwrap_or_default();
    assert!(m.contains("example-asset:1.0.0"), "{m}");
    assert!(m.contains("file, elasticsearch, standard"), "{m}");
    assert!(m.contains("uploaded assets are not run"), "{m}");
    let m = problem(job(json!(null), "set_key@kafka"), "operations[1]._op").unwrap_or_default();
    assert!(m.contains("\"kafka\""), "{m}");
    let m = problem(
        job(json!(["standard"]), "kafka_sender"),
        "operations[1]._op",
    )
    .unwrap_or_default();
    assert!(
        m.contains("kafka_sender"),
        "an op no asset provides is named: {m}"
    );
}

#[test]
fn every_asset_op_is_registered_and_the_catalog_knows_the_assets() {
    let r = registry();
    let names = r.op_names();
    let registered = [
        teraslice_asset_file::ASSET,
        teraslice_asset_elasticsearch::ASSET,
        teraslice_asset_standard::ASSET,
    ];
    for asset in &registered {
        for op in asset.ops {
            assert!(
                names.iter().any(|n| n == op),
                "{}: {op} is not registered",
                asset.name
            );
        }
    }
    assert_eq!(r.assets(), registered);
    assert_eq!(r.asset_names(), ["file", "elasticsearch", "standard"]);
    let find = |entry| r.asset(entry).map(|a| a.name);
    assert_eq!(find("standard@1.0.0"), Some("standard"));
    assert_eq!(find("elasticsearch:^2.7.7"), Some("elasticsearch"));
    let id = teraslice_asset_file::ASSET.id();
    assert_eq!(find(id.as_str()), Some("file"));
    assert_eq!(find("kafka"), None);
}
