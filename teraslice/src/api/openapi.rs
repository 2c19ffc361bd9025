//! `/openapi.json`: the hand-written OpenAPI document of this API; a test keeps it in step with
//! the route tables.
use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::super::{json_routes, txt_routes};
    use super::DOCUMENT;

    /// axum's catch-all `{*rest}` is OpenAPI's plain `{rest}`.
    fn openapi_path(route: &str) -> String {
        route.replace("{*", "{")
    }

    #[test]
    fn every_registered_route_is_documented() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let mut missing = Vec::new();
        for r in json_routes().into_iter().chain(txt_routes()) {
            let method = r.method.as_str().to_ascii_lowercase();
            if doc["paths"][openapi_path(r.path).as_str()][&method].is_null() {
                missing.push(format!("{} {}", r.method, r.path));
            }
        }
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
    }

    #[test]
    fn every_documented_route_is_registered() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let routes: Vec<(String, String)> = json_routes()
            .into_iter()
            .chain(txt_routes())
            .map(|r| (r.method.as_str().to_ascii_lowercase(), openapi_path(r.path)))
            .collect();
        let paths = doc["paths"].as_object().expect("paths object");
        for (path, ops) in paths {
            for method in ops.as_object().expect("operations object").keys() {
                assert!(
                    routes.iter().any(|(m, p)| m == method && p == path),
                    "openapi.json documents {method} {path}, which is not registered"
                );
            }
        }
    }
}
