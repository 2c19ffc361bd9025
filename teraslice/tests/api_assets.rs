//! `/assets`: the built-in assets with their ops, the refused upload and delete, and job
//! submission checking the job's `assets` against them.
mod api_support;

use api_support::{assert_error, job, TestMaster};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn get_assets_lists_the_built_in_assets_with_their_ops() {
    let m = TestMaster::start("").await;
    for path in ["/assets", "/v1/assets"] {
        let (status, list) = m.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {list}");
        // In the order the `teraslice` binary registers them (`standard` after the assets its
        // routed_sender sends through).
        assert_eq!(
            names(&list),
            ["file", "elasticsearch", "kafka", "standard"],
            "{path}"
        );
        for asset in list.as_array().into_iter().flatten() {
            let id = asset["id"].as_str().unwrap_or_default();
            assert_eq!(id.len(), 40, "Teraslice-style 40-hex id: {asset}");
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{asset}");
            for key in ["version", "description", "_created", "platform", "arch"] {
                assert!(asset[key].is_string(), "{key} in {asset}");
            }
        }
        let ops = |i: usize| list[i]["ops"].as_array().cloned().unwrap_or_default();
        assert!(ops(0).contains(&json!("file_reader")));
        assert!(ops(1).contains(&json!("elasticsearch_bulk")));
        assert!(ops(2).contains(&json!("kafka_reader")));
        assert!(
            ops(3).contains(&json!("routed_sender")) && ops(3).contains(&json!("data_generator"))
        );
    }
    let (_, one) = m.get("/assets/standard").await;
    assert_eq!(names(&one), ["standard"]);
    let (_, versioned) = m.get("/v1/assets/elasticsearch/5.1.6").await;
    assert_eq!(names(&versioned), ["elasticsearch"]);
    let (status, none) = m.get("/assets/hdfs").await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn txt_assets_is_a_table_of_them() {
    let m = TestMaster::start("").await;
    let (status, table) = m.text("/txt/assets").await;
    assert_eq!(status, StatusCode::OK);
    let header = table.lines().next().unwrap_or_default();
    for col in ["name", "version", "id", "_created", "description"] {
        assert!(header.contains(col), "{header}");
    }
    for name in ["standard", "elasticsearch", "file"] {
        assert!(
            table.lines().skip(2).any(|l| l.starts_with(name)),
            "{name} in\n{table}"
        );
    }
    let (_, only) = m
        .text("/txt/assets/file?headers=false&fields=name,version")
        .await;
    assert_eq!(only.trim(), "file  3.0.0");
}

#[tokio::test]
async fn uploading_or_deleting_an_asset_is_refused_saying_what_to_do() {
    let m = TestMaster::start("").await;
    let (status, body) = m
        .raw(
            Method::POST,
            "/assets",
            b"PK\x03\x04 not really a zip".to_vec(),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "uploaded assets are not supported",
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("file, elasticsearch, kafka, standard"),
        "{message}"
    );
    let (status, body) = m.raw(Method::POST, "/v1/assets", Vec::new()).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "JavaScript");
    let (status, body) = m
        .call(
            Method::DELETE,
            "/assets/0123456789012345678901234567890123456789",
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "cannot be deleted");
}

#[tokio::test]
async fn job_submission_accepts_built_in_assets_and_names_any_other() {
    let m = TestMaster::start("").await;
    let mut spec = job("with-assets");
    spec["assets"] = json!(["standard:1.0.0", "elasticsearch@5.1.6", "file"]);
    let (status, body) = m.post("/jobs?start=false", Some(&spec)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    spec["assets"] = json!(["standard", "my-team-asset:0.3.0"]);
    let (status, body) = m.post("/jobs?start=false", Some(&spec)).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "my-team-asset:0.3.0",
    );
    let mut unknown_op = job("unknown-op");
    unknown_op["operations"][1] = json!({"_op": "hdfs_append"});
    let (status, body) = m.post("/jobs?start=false", Some(&unknown_op)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "hdfs_append");
}
