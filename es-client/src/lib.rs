//! teraslice-es: what the Elasticsearch/OpenSearch state store (teraslice-storage) and the
//! elasticsearch ops (teraslice-runtime) both need to talk to a server: the terafoundation
//! connector config, the server's identity from `GET /`, and a small HTTP client.
//!
//! HTTP through reqwest (not the `elasticsearch` crate, written for Elasticsearch alone): one
//! client serves OpenSearch, which answers 406 to Elasticsearch's compatibility media type, as
//! well as Elasticsearch 7 and 8, choosing headers from the server's `GET /` answer.
mod client;
mod connector;
mod server;

pub use client::{
    describe_reqwest_error, Answer, Backoff, Body, ClientError, EsClient, MediaTypes, RequestError,
};
pub use connector::{Auth, ConfigError, ConnectionConfig};
pub use reqwest::{Method, StatusCode, Url};
pub use server::{Distribution, ServerInfo};
