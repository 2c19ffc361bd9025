//! The `jobs` table: Teraslice `<name>__jobs` documents keyed by `job_id`.
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use teraslice_core::store::{ListQuery, StoreError, StoreResult};
use teraslice_core::JobRecord;

use super::docs::{from_doc, sql_count, time_key, to_doc};
use super::error::SqlContext;

fn not_found(job_id: &str) -> StoreError {
    StoreError::NotFound {
        kind: "job",
        id: job_id.to_string(),
    }
}

pub(crate) fn create(conn: &Connection, job: &JobRecord) -> StoreResult<()> {
    let doc = to_doc("job", &job.job_id, job)?;
    let inserted = conn
        .execute(
            "INSERT INTO jobs (job_id, created, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT (job_id) DO NOTHING",
            params![job.job_id, time_key(&job.created), doc],
        )
        .ctx("creating a job")?;
    if inserted == 0 {
        return Err(StoreError::AlreadyExists {
            kind: "job",
            id: job.job_id.clone(),
        });
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, job_id: &str) -> StoreResult<JobRecord> {
    let doc: Option<String> = conn
        .query_row("SELECT doc FROM jobs WHERE job_id = ?1", [job_id], |row| {
            row.get(0)
        })
        .optional()
        .ctx("reading a job")?;
    match doc {
        Some(doc) => from_doc("job", job_id, &doc),
        None => Err(not_found(job_id)),
    }
}

pub(crate) fn update(conn: &Connection, job: &JobRecord) -> StoreResult<()> {
    let doc = to_doc("job", &job.job_id, job)?;
    let updated = conn
        .execute(
            "UPDATE jobs SET created = ?2, doc = ?3 WHERE job_id = ?1",
            params![job.job_id, time_key(&job.created), doc],
        )
        .ctx("updating a job")?;
    if updated == 0 {
        return Err(not_found(&job.job_id));
    }
    Ok(())
}

/// Replaces the job only if the stored one still equals `expected`, under the write lock.
pub(crate) fn update_if_unchanged(
    conn: &mut Connection,
    job: &JobRecord,
    expected: &JobRecord,
) -> StoreResult<()> {
    let what = "updating a job if unchanged";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    if get(&tx, &job.job_id)? != *expected {
        return Err(StoreError::Conflict {
            kind: "job",
            id: job.job_id.clone(),
        });
    }
    update(&tx, job)?;
    tx.commit().ctx(what)
}

pub(crate) fn list(conn: &Connection, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT job_id, doc FROM jobs ORDER BY created DESC, job_id DESC LIMIT ?1 OFFSET ?2",
        )
        .ctx("listing jobs")?;
    let rows = stmt
        .query_map(
            params![sql_count(query.size), sql_count(query.from)],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )
        .ctx("listing jobs")?;
    let mut jobs = Vec::new();
    for row in rows {
        let (job_id, doc) = row.ctx("listing jobs")?;
        jobs.push(from_doc("job", &job_id, &doc)?);
    }
    Ok(jobs)
}
