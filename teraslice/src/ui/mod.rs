//! The web view at `/ui`: one HTML page, a stylesheet and a script, embedded in the binary and
//! served on the master's port. The page reads and drives the cluster through the JSON API (with
//! the API token the operator enters, when the master requires one); these routes serve only
//! the static files, so they need no token themselves.
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("../../ui/index.html");
const APP_JS: &str = include_str!("../../ui/app.js");
const APP_CSS: &str = include_str!("../../ui/app.css");

/// `/ui` (and `/ui/`), `/ui/app.js`, `/ui/app.css`; merged into the API router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route(
            "/ui/",
            get(|| async { file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { file("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/ui/app.css",
            get(|| async { file("text/css; charset=utf-8", APP_CSS) }),
        )
}

/// The files change only with the binary: `no-cache` makes a browser check after an upgrade.
fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budget for the page: no framework bundle, well under ~100 KB in all.
    #[test]
    fn the_embedded_page_stays_small() {
        let total = INDEX_HTML.len() + APP_JS.len() + APP_CSS.len();
        assert!(total < 100 * 1024, "the web view is {total} bytes");
    }

    #[test]
    fn the_page_loads_the_embedded_script_and_stylesheet() {
        assert!(INDEX_HTML.contains("src=\"/ui/app.js\""));
        assert!(INDEX_HTML.contains("href=\"/ui/app.css\""));
    }
}
