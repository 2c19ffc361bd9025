//! The `StateStore` conformance suite: every store (memory, SQLite, Elasticsearch/OpenSearch) runs
//! [`run_all`] from its tests. Each check takes a store of its own from the factory; checks that
//! list jobs or executions expect that store to hold no other jobs or executions.
use std::future::Future;
use std::sync::Arc;

use crate::store::StateStore;

#[path = "store_documents.rs"]
mod documents;
#[path = "store_exclusive.rs"]
mod exclusive;
#[path = "store_executions.rs"]
mod executions;
#[path = "store_fixtures.rs"]
pub mod fixtures;
#[path = "store_jobs.rs"]
mod jobs;
#[path = "store_slices.rs"]
mod slices;
#[path = "store_status_race.rs"]
mod status_race;

pub use documents::documents_keep_teraslice_fields;
pub use exclusive::{
    exclusive_create_one_living_execution_per_job, job_update_if_unchanged_is_compare_and_set,
};
pub use executions::{
    execution_create_get, execution_list_by_job_and_statuses, metadata_update,
    status_follows_transition_rules, status_update_fields_persist,
};
pub use jobs::{job_create_get_update, job_list_newest_first_with_paging};
pub use slices::{
    analytics_write_and_list, slice_states_bulk_write_and_update,
    slice_states_list_by_state_with_paging,
};
pub use status_race::{status_compare_and_set_one_winner, status_compare_and_set_twenty_writers};

/// The store under test, as the master and runtime hold it.
pub type Store = Arc<dyn StateStore>;

/// Runs every check, each on a fresh store from `make`. Needs a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`) so the compare-and-set races really overlap.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Store>,
{
    job_create_get_update(make().await).await;
    job_list_newest_first_with_paging(make().await).await;
    execution_create_get(make().await).await;
    execution_list_by_job_and_statuses(make().await).await;
    status_follows_transition_rules(make().await).await;
    status_update_fields_persist(make().await).await;
    status_compare_and_set_one_winner(make().await).await;
    status_compare_and_set_twenty_writers(make().await).await;
    metadata_update(make().await).await;
    exclusive_create_one_living_execution_per_job(make().await).await;
    job_update_if_unchanged_is_compare_and_set(make().await).await;
    slice_states_bulk_write_and_update(make().await).await;
    slice_states_list_by_state_with_paging(make().await).await;
    analytics_write_and_list(make().await).await;
    documents_keep_teraslice_fields(make().await).await;
}
