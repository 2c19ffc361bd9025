//! API errors as Teraslice sends them: `{"error": <status>, "message": "..."}` (plus
//! `statusCode`), each naming the object or parameter, what was wrong and what is allowed.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use teraslice_core::scheduler::SchedulerError;
use teraslice_core::{BackendError, StoreError};

use super::body::pretty_json;
use crate::master::jobs::JobsError;
use crate::master::search::QueryError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Jobs(#[from] JobsError),
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the json submitted is malformed: {0}")]
    MalformedJson(String),
    #[error(
        "request body is larger than {limit} bytes, the limit set by teraslice.api_payload_limit"
    )]
    TooLarge { limit: usize },
    #[error("cannot read the request body: {0}")]
    Body(String),
    #[error("{0}")]
    NotFound(String),
    /// 400: a query parameter is wrong; the message names it and what is allowed.
    #[error("{0}")]
    BadParam(String),
    /// 401: no token, or one the master does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a read token on a route that changes something.
    #[error("{0}")]
    Forbidden(String),
    #[error("cannot {method} endpoint {uri}")]
    NoRoute { method: String, uri: String },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Jobs(e) => jobs_status(e),
            ApiError::Scheduler(e) => scheduler_status(e),
            ApiError::Query(_)
            | ApiError::MalformedJson(_)
            | ApiError::Body(_)
            | ApiError::BadParam(_) => StatusCode::BAD_REQUEST,
            ApiError::Store(e) => store_status(e),
            ApiError::Backend(e) => backend_status(e),
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NoRoute { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }
}

fn jobs_status(e: &JobsError) -> StatusCode {
    match e {
        JobsError::NoJob(_) | JobsError::Invalid(_) | JobsError::EmptyUpdate(_) => {
            StatusCode::BAD_REQUEST
        }
        JobsError::JobIdOnSubmit => StatusCode::UNPROCESSABLE_ENTITY,
        JobsError::JobNotFound(_)
        | JobsError::NoExecution(_)
        | JobsError::ExecutionNotFound(_)
        | JobsError::NothingToRecover(_) => StatusCode::NOT_FOUND,
        JobsError::Deleted { .. } | JobsError::AlreadyDeleted(_) => StatusCode::GONE,
        JobsError::Running { .. } | JobsError::RunningDelete { .. } => StatusCode::CONFLICT,
        JobsError::Scheduler(e) => scheduler_status(e),
        JobsError::Store(e) => store_status(e),
    }
}

fn scheduler_status(e: &SchedulerError) -> StatusCode {
    match e {
        SchedulerError::NotFound(_) | SchedulerError::NotActive(_) => StatusCode::NOT_FOUND,
        SchedulerError::WrongState { .. } => StatusCode::CONFLICT,
        SchedulerError::Store(e) => store_status(e),
        SchedulerError::Backend(BackendError::NotSupported { .. }) => StatusCode::BAD_REQUEST,
        SchedulerError::Backend(e) => backend_status(e),
        SchedulerError::Controller { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::AlreadyExists { .. }
        | StoreError::Conflict { .. }
        | StoreError::ActiveExecution { .. } => StatusCode::CONFLICT,
        StoreError::Transition { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Data(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn backend_status(e: &BackendError) -> StatusCode {
    match e {
        BackendError::NotSupported { .. } | BackendError::InvalidRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        BackendError::UnknownExecution(_) => StatusCode::NOT_FOUND,
        BackendError::Unreachable(_) | BackendError::NoCapacity(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        BackendError::Conflict(_) => StatusCode::CONFLICT,
        BackendError::Allocation(_) | BackendError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let code = status.as_u16();
        let mut res = pretty_json(
            status,
            &json!({"error": code, "message": self.to_string(), "statusCode": code}),
        );
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}
