//! Bearer tokens on the master API (`teraslice.api_tokens`, `teraslice.api_tokens_file`): every
//! route but `GET /` (the health check) needs `Authorization: Bearer <token>`; a `read` token
//! may only `GET` (and `HEAD`). With no token configured the API is open, as Teraslice's is.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use teraslice_core::config::{parse_tokens_file, ApiRole, ApiToken, SystemConfig};

use super::error::ApiError;

/// The tokens the API accepts; none = open.
#[derive(Debug, Default)]
pub struct ApiAuth {
    tokens: Vec<ApiToken>,
}

/// Why the tokens could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("teraslice.api_tokens_file: cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("teraslice.api_tokens_file: {path}: {problem}")]
    Parse { path: String, problem: String },
}

impl ApiAuth {
    /// `api_tokens` plus the tokens of `api_tokens_file` (read now).
    pub fn from_config(config: &SystemConfig) -> Result<Self, AuthConfigError> {
        let security = &config.teraslice.security;
        let mut tokens = security.api_tokens.clone();
        if let Some(path) = &security.api_tokens_file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
                path: shown.clone(),
                source,
            })?;
            let more = parse_tokens_file(&text).map_err(|problem| AuthConfigError::Parse {
                path: shown.clone(),
                problem,
            })?;
            if more.is_empty() {
                return Err(AuthConfigError::Parse {
                    path: shown,
                    problem:
                        "has no token: give one token a line (\"<token>\" or \"<token> read\")"
                            .into(),
                });
            }
            tokens.extend(more);
        }
        Ok(ApiAuth { tokens })
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The role of `presented`, compared in constant time against every configured token.
    fn role_of(&self, presented: &str) -> Option<ApiRole> {
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.token.as_bytes().ct_eq(presented.as_bytes())) && found.is_none() {
                found = Some(t.role);
            }
        }
        found
    }

    /// Whether `method` on `path` may proceed with the `Authorization` header `header`.
    fn check(&self, method: &Method, path: &str, header: Option<&str>) -> Result<(), ApiError> {
        if self.is_open() || (method == Method::GET && path == "/") {
            return Ok(());
        }
        let Some(header) = header else {
            return Err(ApiError::Unauthorized(
                "this master requires an API token: send the header \"Authorization: Bearer <token>\" (the CLI reads --token or TERASLICE_TOKEN)".into(),
            ));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be \"Bearer <token>\"".into())
            })?;
        match self.role_of(token) {
            None => Err(ApiError::Unauthorized(
                "the API token is not valid: it matches no token in teraslice.api_tokens or teraslice.api_tokens_file".into(),
            )),
            Some(ApiRole::Admin) => Ok(()),
            Some(ApiRole::Read) if method == Method::GET || method == Method::HEAD => Ok(()),
            Some(ApiRole::Read) => Err(ApiError::Forbidden(format!(
                "cannot {method} {path} with a read token: only GET is allowed, this needs an admin token"
            ))),
        }
    }
}

/// Middleware: refuses a request without a valid token (401) or with a read token on a route
/// that changes something (403).
pub async fn require_token(State(auth): State<Arc<ApiAuth>>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.check(req.method(), req.uri().path(), header) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> ApiAuth {
        ApiAuth {
            tokens: vec![
                ApiToken {
                    token: "admin-t".into(),
                    role: ApiRole::Admin,
                },
                ApiToken {
                    token: "read-t".into(),
                    role: ApiRole::Read,
                },
            ],
        }
    }

    #[test]
    fn roles_decide_what_a_token_may_do() {
        let a = auth();
        assert!(a.check(&Method::GET, "/", None).is_ok());
        assert!(matches!(
            a.check(&Method::GET, "/jobs", None),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            a.check(&Method::GET, "/jobs", Some("Bearer nope")),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            a.check(&Method::GET, "/jobs", Some("Basic read-t")),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(a
            .check(&Method::GET, "/jobs", Some("Bearer read-t"))
            .is_ok());
        assert!(matches!(
            a.check(&Method::POST, "/jobs", Some("Bearer read-t")),
            Err(ApiError::Forbidden(_))
        ));
        assert!(a
            .check(&Method::POST, "/jobs", Some("Bearer admin-t"))
            .is_ok());
        assert!(ApiAuth::default()
            .check(&Method::POST, "/jobs", None)
            .is_ok());
    }
}
