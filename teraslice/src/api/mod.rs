//! The master's HTTP API: Teraslice's JSON routes (each also under `/v1`), the `/txt` tables,
//! and `/openapi.json`. Routes are declared once in [`json_routes`] / [`txt_routes`]; the router
//! and the OpenAPI sync test both read those tables.
mod assets;
pub mod auth;
mod body;
mod cluster;
mod drain;
mod error;
mod executions;
mod jobs;
mod openapi;
mod params;
mod table;
mod txt;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

pub use cluster::{arch, cluster_counters, controller_list};
pub use error::ApiError;

use crate::master::MasterServices;

pub type AppState = Arc<MasterServices>;

/// One registered route: the method and path the OpenAPI document must list.
pub struct Route {
    #[cfg_attr(not(test), allow(dead_code))] // read by the OpenAPI sync test
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

/// The route's method filter comes from `method`, so the table cannot disagree with the router.
fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = match method {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    };
    Route {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// Teraslice's JSON routes; each is served at `path` and at `/v1<path>`.
pub fn json_routes() -> Vec<Route> {
    use executions as ex;
    vec![
        route(Method::GET, "/", cluster::root),
        route(Method::GET, "/cluster/state", cluster::state),
        route(Method::GET, "/cluster/stats", cluster::stats),
        route(Method::GET, "/cluster/controllers", cluster::controllers),
        route(Method::GET, "/cluster/slicers", cluster::controllers),
        route(Method::GET, "/controllers", cluster::controllers),
        route(Method::POST, "/jobs", jobs::submit),
        route(Method::GET, "/jobs", jobs::list),
        route(Method::GET, "/jobs/{job_id}", jobs::get_one),
        route(Method::PUT, "/jobs/{job_id}", jobs::update),
        route(Method::DELETE, "/jobs/{job_id}", jobs::remove),
        route(Method::GET, "/jobs/{job_id}/ex", jobs::latest_ex),
        route(Method::POST, "/jobs/{job_id}/_active", jobs::activate),
        route(Method::POST, "/jobs/{job_id}/_inactive", jobs::deactivate),
        route(Method::POST, "/jobs/{job_id}/_start", jobs::start),
        route(Method::POST, "/jobs/{job_id}/_stop", jobs::stop),
        route(Method::POST, "/jobs/{job_id}/_pause", jobs::pause),
        route(Method::POST, "/jobs/{job_id}/_resume", jobs::resume),
        route(Method::POST, "/jobs/{job_id}/_recover", jobs::recover),
        route(Method::POST, "/jobs/{job_id}/_workers", jobs::workers),
        route(Method::POST, "/jobs/{job_id}/_settings", jobs::settings),
        route(Method::GET, "/jobs/{job_id}/controller", jobs::controller),
        route(Method::GET, "/jobs/{job_id}/slicer", jobs::controller),
        route(Method::GET, "/jobs/{job_id}/errors", jobs::errors),
        route(Method::GET, "/ex", ex::list),
        route(Method::GET, "/ex/errors", ex::all_errors),
        route(Method::GET, "/ex/{ex_id}", ex::get_one),
        route(Method::POST, "/ex/{ex_id}/_stop", ex::stop),
        route(Method::POST, "/ex/{ex_id}/_pause", ex::pause),
        route(Method::POST, "/ex/{ex_id}/_resume", ex::resume),
        route(Method::POST, "/ex/{ex_id}/_recover", ex::recover),
        route(Method::POST, "/ex/{ex_id}/_workers", ex::workers),
        route(Method::GET, "/ex/{ex_id}/_controller", ex::controller),
        route(Method::GET, "/ex/{ex_id}/controller", ex::controller),
        route(Method::GET, "/ex/{ex_id}/slicer", ex::controller),
        route(Method::GET, "/ex/{ex_id}/errors", ex::errors),
        route(Method::GET, "/assets", assets::list),
        route(Method::POST, "/assets", assets::upload),
        route(Method::GET, "/assets/{name}", assets::by_name),
        route(Method::DELETE, "/assets/{name}", assets::remove),
        route(Method::GET, "/assets/{name}/{version}", assets::by_version),
    ]
}

/// The text tables; only without the `/v1` prefix, as in Teraslice.
pub fn txt_routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/txt/jobs", txt::jobs),
        route(Method::GET, "/txt/ex", txt::executions),
        route(Method::GET, "/txt/workers", txt::workers),
        route(Method::GET, "/txt/nodes", txt::nodes),
        route(Method::GET, "/txt/controllers", txt::controllers),
        route(Method::GET, "/txt/slicers", txt::controllers),
        route(Method::GET, "/txt/assets", assets::txt_list),
        route(Method::GET, "/txt/assets/{name}", assets::txt_by_name),
        route(
            Method::GET,
            "/txt/assets/{name}/{version}",
            assets::txt_by_version,
        ),
        route(Method::GET, "/openapi.json", openapi::document),
    ]
}

fn v1(path: &str) -> String {
    if path == "/" {
        "/v1".to_string()
    } else {
        format!("/v1{path}")
    }
}

/// `path` and `path/`: Teraslice's Express router is not strict about a trailing slash (its JS
/// client asks for `v1/`), so every route answers both ways.
fn with_and_without_slash(path: &str) -> Vec<String> {
    if path.ends_with('/') {
        vec![path.to_string()]
    } else {
        vec![path.to_string(), format!("{path}/")]
    }
}

pub fn router(services: AppState) -> Router {
    let limit = body::payload_limit(&services);
    let mut router = Router::new();
    let json = json_routes().into_iter().flat_map(|r| {
        [
            (v1(r.path), r.handler.clone()),
            (r.path.to_string(), r.handler),
        ]
    });
    let txt = txt_routes()
        .into_iter()
        .map(|r| (r.path.to_string(), r.handler));
    for (path, handler) in json.chain(txt) {
        for p in with_and_without_slash(&path) {
            router = router.route(&p, handler.clone());
        }
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            services.auth.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limit,
            drain::read_body_first,
        ))
        .with_state(services)
        .merge(crate::ui::router())
}

/// Teraslice answers every unknown method or path with 405.
async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute {
        method: method.to_string(),
        uri: uri.to_string(),
    }
}
