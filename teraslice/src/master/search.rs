//! Teraslice's list query options (`size`, `from`, `sort`, `filter`, `active`, `deleted`) applied
//! to documents. `filter` accepts the Lucene subset clients use: `field:value` clauses (value
//! quoted or not, `*` as a wildcard) joined by `AND`, each optionally negated by `NOT `/`-`.
use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

/// A query parameter with a value the API cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{param}` is \"{value}\": {allowed}")]
pub struct QueryError {
    pub param: &'static str,
    pub value: String,
    pub allowed: String,
}

impl QueryError {
    pub fn new(param: &'static str, value: &str, allowed: impl Into<String>) -> Self {
        QueryError {
            param,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

pub type Query = HashMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub size: usize,
    pub from: usize,
    sort: Option<(String, bool)>,
    filter: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negated: bool,
    field: String,
    pattern: String,
}

impl SearchOptions {
    /// Reads `size` (default 100), `from` (default 0), `sort` (`field[:asc|desc]`) and `filter`.
    pub fn from_query(q: &Query, default_sort: &str) -> Result<Self, QueryError> {
        let size = int_param(q, "size", 100)?;
        let from = int_param(q, "from", 0)?;
        let sort_text = q.get("sort").map(String::as_str).unwrap_or(default_sort);
        let sort = parse_sort(sort_text)?;
        let filter = match q.get("filter").map(|s| s.trim()) {
            None | Some("") => vec![],
            Some(f) => parse_filter(f)?,
        };
        Ok(SearchOptions {
            size,
            from,
            sort,
            filter,
        })
    }

    /// Keeps the documents matching `filter`, sorted, then the page `from..from+size`.
    pub fn apply(&self, docs: Vec<Value>) -> Vec<Value> {
        let mut page = self.collector();
        for doc in docs {
            page.push(doc);
        }
        page.finish()
    }

    /// Whether a `sort` was asked for (else documents keep the order they come in).
    pub fn is_sorted(&self) -> bool {
        self.sort.is_some()
    }

    /// Whether a `filter` was asked for.
    pub fn is_filtered(&self) -> bool {
        !self.filter.is_empty()
    }

    /// A page built from documents pushed one at a time, holding at most about twice
    /// `from + size` of them whatever the number pushed.
    pub fn collector(&self) -> PageCollector<'_> {
        PageCollector {
            opts: self,
            keep: self.from.saturating_add(self.size),
            docs: Vec::new(),
        }
    }

    pub fn matches(&self, doc: &Value) -> bool {
        self.filter.iter().all(|c| {
            let hit = lookup(doc, &c.field).is_some_and(|v| glob(&c.pattern, &text(v)));
            hit != c.negated
        })
    }

    fn sort_docs(&self, docs: &mut [Value]) {
        if let Some((field, asc)) = &self.sort {
            // Stable: equal documents keep the order they came in.
            docs.sort_by(|a, b| {
                let ord = compare(lookup(a, field), lookup(b, field));
                if *asc {
                    ord
                } else {
                    ord.reverse()
                }
            });
        }
    }
}

/// Collects the page of [`SearchOptions`] from a stream of documents (a store read page by
/// page): filtered on the way in; sorted ones are cut back to the best `from + size` whenever
/// twice that many are held, unsorted ones stop being taken once `from + size` are held.
pub struct PageCollector<'a> {
    opts: &'a SearchOptions,
    keep: usize,
    docs: Vec<Value>,
}

impl PageCollector<'_> {
    pub fn push(&mut self, doc: Value) {
        if self.is_full() || !self.opts.matches(&doc) {
            return;
        }
        self.docs.push(doc);
        if self.opts.is_sorted() && self.docs.len() >= self.keep.saturating_mul(2).max(64) {
            self.opts.sort_docs(&mut self.docs);
            self.docs.truncate(self.keep);
        }
    }

    /// Unsorted and `from + size` held: nothing pushed later can be on the page.
    pub fn is_full(&self) -> bool {
        !self.opts.is_sorted() && self.docs.len() >= self.keep
    }

    pub fn finish(mut self) -> Vec<Value> {
        self.opts.sort_docs(&mut self.docs);
        self.docs
            .into_iter()
            .skip(self.opts.from)
            .take(self.opts.size)
            .collect()
    }
}

fn int_param(q: &Query, param: &'static str, default: usize) -> Result<usize, QueryError> {
    match q.get(param) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| QueryError::new(param, v, "must be a non-negative integer")),
    }
}

fn parse_sort(s: &str) -> Result<Option<(String, bool)>, QueryError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let (field, dir) = s.rsplit_once(':').unwrap_or((s, "asc"));
    let asc = match dir {
        "asc" => true,
        "desc" => false,
        _ => {
            return Err(QueryError::new(
                "sort",
                s,
                "must be `field`, `field:asc` or `field:desc` (e.g. `_updated:desc`)",
            ))
        }
    };
    Ok(Some((field.to_string(), asc)))
}

const FILTER_SYNTAX: &str = "must be `field:value` clauses joined by ` AND `, each optionally prefixed by `NOT ` or `-`; values may be quoted and may use `*` as a wildcard (e.g. `name:\"my job\" AND lifecycle:once`)";

fn parse_filter(f: &str) -> Result<Vec<Clause>, QueryError> {
    // Teraslice wraps filters in parentheses; they add nothing to an AND-only query.
    let f = f.trim();
    let f = f
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(f);
    f.split(" AND ")
        .map(|raw| {
            let mut part = raw.trim();
            let mut negated = false;
            if let Some(rest) = part.strip_prefix("NOT ").or_else(|| part.strip_prefix('-')) {
                negated = true;
                part = rest.trim();
            }
            let (field, value) = part
                .split_once(':')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty() && !k.contains(' '))
                .ok_or_else(|| QueryError::new("filter", f, FILTER_SYNTAX))?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.contains(' ') && !part.ends_with('"') {
                return Err(QueryError::new("filter", f, FILTER_SYNTAX));
            }
            Ok(Clause {
                negated,
                field: field.to_string(),
                pattern: value.to_string(),
            })
        })
        .collect()
}

/// `a.b.c` inside a document.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(doc, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Numbers numerically, everything else as text; missing values sort last.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => text(x).cmp(&text(y)),
    }
}

/// `deleted`: `false` (default) lists live documents, `true` or empty lists deleted ones.
pub fn wants_deleted(q: &Query) -> Result<bool, QueryError> {
    match q.get("deleted").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") | Some("") => Ok(true),
        Some(other) => Err(QueryError::new(
            "deleted",
            other,
            "deleted query option must true or false",
        )),
    }
}

/// `active`: `true` keeps jobs not marked inactive, `false` only inactive ones, else all.
pub fn active_matches(q: &Query, doc: &Value) -> bool {
    let inactive = doc.get("active") == Some(&Value::Bool(false));
    match q.get("active").map(String::as_str) {
        Some("true") => !inactive,
        Some("false") => inactive,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filter_sort_and_page() {
        let docs = vec![
            json!({"name": "a", "workers": 3, "lifecycle": "once"}),
            json!({"name": "b", "workers": 10, "lifecycle": "persistent"}),
            json!({"name": "c", "workers": 2, "lifecycle": "once"}),
        ];
        let opts = SearchOptions::from_query(
            &q(&[("filter", "lifecycle:once"), ("sort", "workers:desc")]),
            "",
        )
        .unwrap();
        let names: Vec<_> = opts
            .apply(docs.clone())
            .iter()
            .map(|d| d["name"].clone())
            .collect();
        assert_eq!(names, vec![json!("a"), json!("c")]);
        let opts =
            SearchOptions::from_query(&q(&[("sort", "workers"), ("from", "1"), ("size", "1")]), "")
                .unwrap();
        assert_eq!(opts.apply(docs.clone())[0]["name"], "a");
        let opts =
            SearchOptions::from_query(&q(&[("filter", "NOT name:\"b\" AND name:*")]), "").unwrap();
        assert_eq!(opts.apply(docs).len(), 2);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let err = SearchOptions::from_query(&q(&[("size", "ten")]), "").unwrap_err();
        assert_eq!(err.param, "size");
        let err = SearchOptions::from_query(&q(&[("filter", "name OR x")]), "").unwrap_err();
        assert_eq!(err.param, "filter");
        let err = SearchOptions::from_query(&q(&[("sort", "name:up")]), "").unwrap_err();
        assert_eq!(err.param, "sort");
        assert_eq!(
            wants_deleted(&q(&[("deleted", "maybe")]))
                .unwrap_err()
                .param,
            "deleted"
        );
    }

    #[test]
    fn the_collector_gives_the_page_a_full_sort_gives() {
        let docs: Vec<Value> = (0..5000)
            .map(|i| json!({"i": i, "workers": (i * 7919) % 97, "name": if i % 3 == 0 { "a" } else { "b" }}))
            .collect();
        for query in [
            q(&[("sort", "workers:desc"), ("from", "10"), ("size", "20")]),
            q(&[("sort", "workers"), ("from", "4990"), ("size", "20")]),
            q(&[("filter", "name:a"), ("from", "3"), ("size", "7")]),
            q(&[("filter", "name:b"), ("sort", "workers"), ("size", "50")]),
        ] {
            let opts = SearchOptions::from_query(&query, "").unwrap();
            let mut want: Vec<Value> = docs.iter().filter(|d| opts.matches(d)).cloned().collect();
            opts.sort_docs(&mut want);
            let want: Vec<Value> = want.into_iter().skip(opts.from).take(opts.size).collect();
            let mut page = opts.collector();
            for d in &docs {
                page.push(d.clone());
            }
            assert_eq!(page.finish(), want, "{query:?}");
        }
    }

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob("*", "anything"));
        assert!(glob("ex-*-1", "ex-abc-1"));
        assert!(!glob("ex-*-1", "ex-abc-2"));
        assert!(glob("abc", "abc"));
    }
}
