//! Reading a table page by page (`from`/`size` in the store: SQLite `LIMIT`/`OFFSET`,
//! OpenSearch `from`/`size`), so a listing holds one page of records at a time instead of the
//! whole table.
use std::sync::Arc;

use teraslice_core::store::StoreResult;
use teraslice_core::store::{ExecutionQuery, ListQuery, SliceQuery, SliceState, SliceStateRecord};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobRecord, StateStore};

/// Records per store read when a listing walks a table.
pub const STORE_PAGE: usize = 1000;

/// Where a walk is: the next `from`, or done after a short page.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    from: usize,
    done: bool,
}

impl Cursor {
    fn start(from: usize) -> Self {
        Cursor { from, done: false }
    }

    /// Advances past a page of `got` records read with `size`.
    fn advance(&mut self, got: usize, size: usize) {
        self.from += got;
        self.done = got < size;
    }
}

/// Jobs, newest first, a page at a time.
pub struct JobPages {
    store: Arc<dyn StateStore>,
    at: Cursor,
}

impl JobPages {
    pub fn new(store: &Arc<dyn StateStore>) -> Self {
        JobPages {
            store: store.clone(),
            at: Cursor::start(0),
        }
    }

    pub async fn next(&mut self) -> StoreResult<Option<Vec<JobRecord>>> {
        if self.at.done {
            return Ok(None);
        }
        let page = ListQuery {
            from: self.at.from,
            size: STORE_PAGE,
        };
        let jobs = self.store.list_jobs(&page).await?;
        self.at.advance(jobs.len(), STORE_PAGE);
        Ok((!jobs.is_empty()).then_some(jobs))
    }
}

/// Executions in some statuses (or all), newest first, a page at a time.
pub struct ExecutionPages {
    store: Arc<dyn StateStore>,
    statuses: Vec<ExecutionStatus>,
    at: Cursor,
}

impl ExecutionPages {
    pub fn new(store: &Arc<dyn StateStore>, statuses: Vec<ExecutionStatus>) -> Self {
        ExecutionPages {
            store: store.clone(),
            statuses,
            at: Cursor::start(0),
        }
    }

    pub async fn next(&mut self) -> StoreResult<Option<Vec<ExecutionRecord>>> {
        if self.at.done {
            return Ok(None);
        }
        let query = ExecutionQuery {
            job_id: None,
            statuses: self.statuses.clone(),
            page: ListQuery {
                from: self.at.from,
                size: STORE_PAGE,
            },
        };
        let exs = self.store.list_executions(&query).await?;
        self.at.advance(exs.len(), STORE_PAGE);
        Ok((!exs.is_empty()).then_some(exs))
    }
}

/// Slice state records of one execution in some states, in slice order, a page at a time,
/// starting at `from` and ending after `limit` records.
pub struct SlicePages {
    store: Arc<dyn StateStore>,
    ex_id: String,
    states: Vec<SliceState>,
    at: Cursor,
    left: usize,
}

impl SlicePages {
    pub fn new(
        store: &Arc<dyn StateStore>,
        ex_id: &str,
        states: Vec<SliceState>,
        from: usize,
        limit: usize,
    ) -> Self {
        SlicePages {
            store: store.clone(),
            ex_id: ex_id.to_string(),
            states,
            at: Cursor::start(from),
            left: limit,
        }
    }

    pub async fn next(&mut self) -> StoreResult<Option<Vec<SliceStateRecord>>> {
        if self.at.done || self.left == 0 {
            return Ok(None);
        }
        let size = STORE_PAGE.min(self.left);
        let query = SliceQuery {
            ex_id: self.ex_id.clone(),
            states: self.states.clone(),
            from: self.at.from,
            size,
        };
        let slices = self.store.list_slice_states(&query).await?;
        self.at.advance(slices.len(), size);
        self.left -= slices.len();
        Ok((!slices.is_empty()).then_some(slices))
    }
}
