//! `key_router` (Map): metadata `standard:route` from the first or last `use` characters of the
//! record's `_key`, optionally with a suffix naming the character's class, then cased.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::{key_string, ROUTE};
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct KeyRouter;

struct Config {
    /// `(count, from_end)`; `None` = the whole key.
    take: Option<(usize, bool)>,
    case: String,
    /// upper, lower, number, other.
    suffixes: Option<[String; 4]>,
}

fn parse(c: &mut Check) -> Config {
    let use_ = c.int("use", None, 1);
    let from = match c.get("from") {
        None => None,
        Some(Value::String(s)) if s == "beginning" || s == "end" => Some(s == "end"),
        Some(v) => {
            c.fail(
                "from",
                format!(
                    "must be \"beginning\" or \"end\", got {}",
                    super::check::shown(&v)
                ),
            );
            None
        }
    };
    let case = c.one_of("case", &["preserve", "lower", "upper"], "preserve");
    let suffix_use = c.bool("suffix_use", false);
    let suffixes =
        ["upper", "lower", "number", "other"].map(|k| c.string(&format!("suffix_{k}"), ""));
    match (use_, c.get("use"), from, c.get("from")) {
        (Some(_), _, None, None) => c.fail(
            "from",
            "is required when use is set: \"beginning\" or \"end\"",
        ),
        (None, None, _, Some(_)) => c.fail(
            "use",
            "is required when from is set: the number of characters (at least 1)",
        ),
        _ => {}
    }
    if suffix_use {
        if use_.is_some_and(|n| n != 1) {
            c.fail(
                "suffix_use",
                "needs use: 1 (a suffix describes a single character)",
            );
        }
        if suffixes.iter().all(String::is_empty) {
            c.fail("suffix_use", "needs at least one of suffix_upper, suffix_lower, suffix_number, suffix_other to be non-empty");
        }
    }
    Config {
        take: use_
            .zip(from)
            .map(|(n, end)| (usize::try_from(n).unwrap_or(usize::MAX), end)),
        case,
        suffixes: suffix_use.then_some(suffixes),
    }
}

impl ProcessorFactory for KeyRouter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, index: usize) -> Result<Record, OpError> {
        let c = &self.0;
        let key = key_string(&record, "key_router", index)?;
        let chars: Vec<char> = key.chars().collect();
        let mut route: String = match c.take {
            None => key.clone(),
            Some((n, false)) => chars.iter().take(n).collect(),
            Some((n, true)) => chars[chars.len().saturating_sub(n)..].iter().collect(),
        };
        if let (Some(s), Some(ch)) = (&c.suffixes, route.chars().next()) {
            let class = if ch.is_uppercase() {
                0
            } else if ch.is_lowercase() {
                1
            } else if ch.is_ascii_digit() {
                2
            } else {
                3
            };
            route.push_str(&s[class]);
        }
        let route = match c.case.as_str() {
            "lower" => route.to_lowercase(),
            "upper" => route.to_uppercase(),
            _ => route,
        };
        record.set_metadata(ROUTE, Value::String(route));
        Ok(record)
    }
}
