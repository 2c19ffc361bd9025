//! `filter` (Filter): drops the records whose field values match a criterion (keeps only those
//! with `invert`); exception rules always keep a record.
use std::net::IpAddr;

use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, shown, validate, Check};
use super::filter_match::{
    estimated_size, parse_regex, validate as run_validator, Cidr, VALIDATORS,
};
use super::value::{get_path, js_string};
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct Filter;

enum Test {
    Match(Vec<Value>),
    Regex(Vec<Regex>),
    IpRange(Vec<Cidr>),
    Validator(String, Value),
    Size(f64),
}

struct Exception {
    field: String,
    value: Value,
    regex: Option<Regex>,
}

struct Config {
    fields: Vec<String>,
    test: Test,
    invert: bool,
    array_index: i64,
    to_dlq: bool,
    exceptions: Vec<Exception>,
}

/// `value` as a list (a single value is a list of one).
fn values(c: &Check) -> Vec<Value> {
    match c.raw().get("value") {
        Some(Value::Array(items)) => items.clone(),
        Some(v) => vec![v.clone()],
        None => vec![Value::Null],
    }
}

fn strings_of(c: &mut Check, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in values(c) {
        match v.as_str() {
            Some(s) => out.push(s.to_string()),
            None => c.fail(
                "value",
                format!(
                    "must be {what} (or an array of them) for this filter_by, got {}",
                    shown(&v)
                ),
            ),
        }
    }
    out
}

fn test(c: &mut Check, by: &str) -> Test {
    match by {
        "regex" => Test::Regex(
            strings_of(c, "a \"/pattern/flags\" string")
                .iter()
                .filter_map(|s| {
                    parse_regex(s)
                        .map_err(|e| c.fail("value", format!("\"{s}\" {e}")))
                        .ok()
                })
                .collect(),
        ),
        "ip_range" => Test::IpRange(
            strings_of(c, "a CIDR range such as \"10.0.0.0/8\"")
                .iter()
                .filter_map(|s| Cidr::parse(s).map_err(|e| c.fail("value", e)).ok())
                .collect(),
        ),
        "size" => match c.get("value").as_ref().and_then(Value::as_f64) {
            Some(n) if n >= 0.0 => Test::Size(n),
            _ => {
                let got = c.raw().get("value").map_or("nothing".into(), shown);
                c.fail(
                    "value",
                    format!("must be a number of bytes (at least 0) for filter_by size, got {got}"),
                );
                Test::Size(0.0)
            }
        },
        "validator" => {
            let name = c.optional_string("validation_function").unwrap_or_default();
            if !VALIDATORS.contains(&name.as_str()) {
                c.fail(
                    "validation_function",
                    format!(
                        "must name a validator for filter_by validator, one of {}, got \"{name}\"",
                        VALIDATORS.join(", ")
                    ),
                );
            }
            let args = c.get("validation_function_args").unwrap_or(Value::Null);
            if !args.is_null() && !args.is_object() {
                c.fail(
                    "validation_function_args",
                    format!("must be an object, got {}", shown(&args)),
                );
            }
            Test::Validator(name, args)
        }
        _ => Test::Match(values(c)),
    }
}

fn exceptions(c: &mut Check) -> Vec<Exception> {
    let Some(v) = c.get("exception_rules") else {
        return Vec::new();
    };
    let Value::Array(items) = v else {
        c.fail(
            "exception_rules",
            format!(
                "must be an array of {{field, value, regex?}} objects, got {}",
                shown(&v)
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("exception_rules[{i}]");
        let field = item
            .get("field")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let (Some(field), Some(value)) = (field, item.get("value")) else {
            c.fail(&path, format!("must be {{\"field\": <non-empty string>, \"value\": <any>, \"regex\": <bool>}}, got {}", shown(item)));
            continue;
        };
        let regex = match (item.get("regex").and_then(Value::as_bool), value.as_str()) {
            (Some(true), Some(s)) => parse_regex(s)
                .map_err(|e| c.fail(&format!("{path}.value"), format!("\"{s}\" {e}")))
                .ok(),
            (Some(true), None) => {
                c.fail(
                    &format!("{path}.value"),
                    format!(
                        "must be a \"/pattern/flags\" string when regex is true, got {}",
                        shown(value)
                    ),
                );
                None
            }
            _ => None,
        };
        out.push(Exception {
            field: field.to_string(),
            value: value.clone(),
            regex,
        });
    }
    out
}

fn parse(c: &mut Check) -> Config {
    let fields = c.required_strings("field");
    let by = c.one_of(
        "filter_by",
        &["match", "regex", "ip_range", "validator", "size"],
        "match",
    );
    let test = test(c, &by);
    Config {
        fields,
        test,
        invert: c.bool("invert", false),
        array_index: c.int("array_index", Some(-1), -1).unwrap_or(-1),
        to_dlq: c.bool("filtered_to_dead_letter_queue", false),
        exceptions: exceptions(c),
    }
}

impl ProcessorFactory for Filter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Run {
            cfg: at_run(ctx, parse)?,
            ctx: ctx.clone(),
        }))
    }
}

struct Run {
    cfg: Config,
    ctx: OpContext,
}

impl OperationLifecycle for Run {}

impl Run {
    fn doc_values<'a>(&self, doc: &'a Value) -> Vec<Option<&'a Value>> {
        let c = &self.cfg;
        c.fields
            .iter()
            .map(|f| match usize::try_from(c.array_index) {
                Ok(i) => doc.get(f).and_then(Value::as_array).and_then(|a| a.get(i)),
                Err(_) if f == "doc" && matches!(c.test, Test::Size(_)) => Some(doc),
                Err(_) => get_path(doc, f),
            })
            .collect()
    }

    fn matches(&self, doc: &Value) -> bool {
        let vals = self.doc_values(doc);
        let present = || vals.iter().flatten();
        match &self.cfg.test {
            Test::Match(want) => present().any(|v| want.contains(v)),
            Test::Regex(res) => present().filter(|v| !v.is_null()).any(|v| {
                let s = js_string(v);
                res.iter().any(|r| r.is_match(&s))
            }),
            Test::IpRange(ranges) => present()
                .filter_map(|v| v.as_str()?.trim().parse::<IpAddr>().ok())
                .any(|ip| ranges.iter().any(|r| r.contains(&ip))),
            Test::Validator(name, args) => vals.iter().any(|v| run_validator(name, *v, args)),
            Test::Size(max) => present().any(|v| estimated_size(v) as f64 > *max),
        }
    }

    fn excepted(&self, doc: &Value) -> bool {
        self.cfg
            .exceptions
            .iter()
            .any(|e| match (doc.get(&e.field), &e.regex) {
                (Some(v), Some(r)) => !v.is_null() && r.is_match(&js_string(v)),
                (Some(v), None) => v == &e.value,
                (None, _) => false,
            })
    }
}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut out = Vec::with_capacity(batch.len());
        for record in batch {
            let keep =
                self.excepted(&record.data) || (self.matches(&record.data) == self.cfg.invert);
            if keep {
                out.push(record);
            } else if self.cfg.to_dlq {
                let err = OpError::non_retryable("filter: record was filtered out");
                self.ctx.reject_record(&record, err)?;
            }
        }
        Ok(out)
    }
}
