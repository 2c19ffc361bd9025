//! The `executions` table: Teraslice `<name>__ex` documents keyed by `ex_id`, with the status
//! compare-and-set.
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{ExecutionQuery, StoreError, StoreResult};
use teraslice_core::{ExecutionRecord, ExecutionStatus};

use super::docs::{from_doc, sql_count, time_key, to_doc};
use super::error::SqlContext;

fn not_found(ex_id: &str) -> StoreError {
    StoreError::NotFound {
        kind: "execution",
        id: ex_id.to_string(),
    }
}

pub(crate) fn create(conn: &Connection, ex: &ExecutionRecord) -> StoreResult<()> {
    let doc = to_doc("execution", &ex.ex_id, ex)?;
    let inserted = conn
        .execute(
            "INSERT INTO executions (ex_id, job_id, status, created, doc)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ex_id) DO NOTHING",
            params![
                ex.ex_id,
                ex.job_id,
                ex.status.as_str(),
                time_key(&ex.created),
                doc
            ],
        )
        .ctx("creating an execution")?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists {
            kind: "execution",
            id: ex.ex_id.clone(),
        });
    }
    Ok(())
}

/// Creates `ex` unless its job has a living execution; the check and the insert run under the
/// write lock (`BEGIN IMMEDIATE`), so concurrent callers, in this process or another, queue up
/// and all but the first see its execution.
pub(crate) fn create_exclusive(
    conn: &mut Connection,
    ex: &ExecutionRecord,
) -> StoreResult<ExecutionRecord> {
    let what = "creating the execution of a job";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    let ended: Vec<String> = ExecutionStatus::TERMINAL
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT ex_id, status FROM executions WHERE job_id = ?1 AND status NOT IN ({}) LIMIT 1",
        ended.join(", ")
    );
    let living: Option<(String, String)> = tx
        .query_row(&sql, [&ex.job_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .ctx(what)?;
    if let Some((ex_id, status)) = living {
        let status = status.parse().map_err(|e| {
            StoreError::Data(format!("execution {ex_id} has an unknown status: {e}"))
        })?;
        return Err(StoreError::ActiveExecution {
            job_id: ex.job_id.clone(),
            ex_id,
            status,
        });
    }
    create(&tx, ex)?;
    tx.commit().ctx(what)?;
    Ok(ex.clone())
}

pub(crate) fn get(conn: &Connection, ex_id: &str) -> StoreResult<ExecutionRecord> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM executions WHERE ex_id = ?1",
            [ex_id],
            |row| row.get(0),
        )
        .optional()
        .ctx("reading an execution")?;
    match doc {
        Some(doc) => from_doc("execution", ex_id, &doc),
        None => Err(not_found(ex_id)),
    }
}

pub(crate) fn list(conn: &Connection, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
    let mut filters = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(job_id) = &query.job_id {
        args.push(SqlValue::Text(job_id.clone()));
        filters.push(format!("job_id = ?{}", args.len()));
    }
    if !query.statuses.is_empty() {
        let mut slots = Vec::new();
        for status in &query.statuses {
            args.push(SqlValue::Text(status.as_str().to_string()));
            slots.push(format!("?{}", args.len()));
        }
        filters.push(format!("status IN ({})", slots.join(", ")));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    args.push(SqlValue::Integer(sql_count(query.page.size)));
    args.push(SqlValue::Integer(sql_count(query.page.from)));
    let sql = format!(
        "SELECT ex_id, doc FROM executions {filter}
         ORDER BY created DESC, ex_id DESC LIMIT ?{} OFFSET ?{}",
        args.len() - 1,
        args.len()
    );
    let mut stmt = conn.prepare_cached(&sql).ctx("listing executions")?;
    let rows = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .ctx("listing executions")?;
    let mut out = Vec::new();
    for row in rows {
        let (ex_id, doc) = row.ctx("listing executions")?;
        out.push(from_doc("execution", &ex_id, &doc)?);
    }
    Ok(out)
}

/// Reads, changes and writes one execution under the write lock, so no other connection or
/// process can change it in between. `change` returning an error rolls back and changes nothing.
fn read_modify_write(
    conn: &mut Connection,
    ex_id: &str,
    what: &str,
    change: impl FnOnce(&mut ExecutionRecord) -> StoreResult<()>,
) -> StoreResult<ExecutionRecord> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    let mut ex = get(&tx, ex_id)?;
    change(&mut ex)?;
    let doc = to_doc("execution", ex_id, &ex)?;
    tx.execute(
        "UPDATE executions SET status = ?2, doc = ?3 WHERE ex_id = ?1",
        params![ex_id, ex.status.as_str(), doc],
    )
    .ctx(what)?;
    tx.commit().ctx(what)?;
    Ok(ex)
}

pub(crate) fn set_status(
    conn: &mut Connection,
    ex_id: &str,
    status: ExecutionStatus,
    update: &StatusUpdate,
) -> StoreResult<ExecutionRecord> {
    let ex = read_modify_write(conn, ex_id, "setting an execution status", |ex| {
        ex.status
            .check_transition(status)
            .map_err(|source| StoreError::Transition {
                ex_id: ex_id.to_string(),
                to: status,
                source,
            })?;
        update.apply(ex, status);
        Ok(())
    })?;
    tracing::debug!(ex_id, %status, "execution status set");
    Ok(ex)
}

pub(crate) fn update_metadata(
    conn: &mut Connection,
    ex_id: &str,
    metadata: &Map<String, Value>,
) -> StoreResult<()> {
    read_modify_write(conn, ex_id, "updating execution metadata", |ex| {
        ex.metadata = metadata.clone();
        Ok(())
    })?;
    Ok(())
}
