//! The `slice_states` table (Teraslice `__state`, keyed by `slice_id`) and `analytics`.
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, TransactionBehavior};
use teraslice_core::store::{
    AnalyticsRecord, SliceQuery, SliceState, SliceStateRecord, StoreError, StoreResult,
};

use super::docs::{from_doc, sql_count, to_doc};
use super::error::SqlContext;

/// Creates or replaces every record by `slice_id`, all in one transaction.
pub(crate) fn write(conn: &mut Connection, records: &[SliceStateRecord]) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let what = "writing slice states";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO slice_states (slice_id, ex_id, state, slicer_id, slicer_order, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (slice_id) DO UPDATE SET ex_id = excluded.ex_id,
                   state = excluded.state, slicer_id = excluded.slicer_id,
                   slicer_order = excluded.slicer_order, doc = excluded.doc",
            )
            .ctx(what)?;
        for r in records {
            let order = i64::try_from(r.slicer_order).map_err(|_| {
                StoreError::Data(format!(
                    "slice {} has slicer_order {}, larger than the store allows ({})",
                    r.slice_id,
                    r.slicer_order,
                    i64::MAX
                ))
            })?;
            let doc = to_doc("slice state", &r.slice_id, r)?;
            stmt.execute(params![
                r.slice_id,
                r.ex_id,
                r.state.as_str(),
                r.slicer_id,
                order,
                doc
            ])
            .ctx(what)?;
        }
    }
    tx.commit().ctx(what)
}

pub(crate) fn list(conn: &Connection, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>> {
    let mut args = vec![SqlValue::Text(query.ex_id.clone())];
    let mut filter = String::new();
    if !query.states.is_empty() {
        let mut slots = Vec::new();
        for state in &query.states {
            args.push(SqlValue::Text(state.as_str().to_string()));
            slots.push(format!("?{}", args.len()));
        }
        filter = format!("AND state IN ({})", slots.join(", "));
    }
    args.push(SqlValue::Integer(sql_count(query.size)));
    args.push(SqlValue::Integer(sql_count(query.from)));
    let sql = format!(
        "SELECT slice_id, doc FROM slice_states WHERE ex_id = ?1 {filter}
         ORDER BY slicer_id, slicer_order, slice_id LIMIT ?{} OFFSET ?{}",
        args.len() - 1,
        args.len()
    );
    let what = "listing slice states";
    let mut stmt = conn.prepare_cached(&sql).ctx(what)?;
    let rows = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .ctx(what)?;
    let mut out = Vec::new();
    for row in rows {
        let (slice_id, doc) = row.ctx(what)?;
        out.push(from_doc("slice state", &slice_id, &doc)?);
    }
    Ok(out)
}

pub(crate) fn count(conn: &Connection, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64> {
    let what = "counting slice states";
    let n: i64 = match state {
        Some(state) => conn.query_row(
            "SELECT COUNT(*) FROM slice_states WHERE ex_id = ?1 AND state = ?2",
            params![ex_id, state.as_str()],
            |row| row.get(0),
        ),
        None => conn.query_row(
            "SELECT COUNT(*) FROM slice_states WHERE ex_id = ?1",
            params![ex_id],
            |row| row.get(0),
        ),
    }
    .ctx(what)?;
    Ok(n.max(0) as u64)
}

/// Appends analytics documents (Teraslice indexes them with generated ids), in one transaction.
pub(crate) fn write_analytics(
    conn: &mut Connection,
    records: &[AnalyticsRecord],
) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let what = "writing analytics";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    {
        let mut stmt = tx
            .prepare_cached("INSERT INTO analytics (ex_id, doc) VALUES (?1, ?2)")
            .ctx(what)?;
        for r in records {
            let doc = to_doc("analytics record", &r.slice_id, r)?;
            stmt.execute(params![r.ex_id, doc]).ctx(what)?;
        }
    }
    tx.commit().ctx(what)
}

pub(crate) fn list_analytics(conn: &Connection, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
    let what = "listing analytics";
    let mut stmt = conn
        .prepare_cached("SELECT seq, doc FROM analytics WHERE ex_id = ?1 ORDER BY seq")
        .ctx(what)?;
    let rows = stmt
        .query_map([ex_id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .ctx(what)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, doc) = row.ctx(what)?;
        out.push(from_doc("analytics record", &format!("#{seq}"), &doc)?);
    }
    Ok(out)
}
