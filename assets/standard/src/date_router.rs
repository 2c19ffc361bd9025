//! `date_router` (Map in Teraslice; a batch here so rejected records can be dropped): metadata
//! `standard:route` from a date field at a resolution, e.g. `2020.01.05` or
//! `year_2020.month_01.day_05`.
use async_trait::async_trait;
use chrono::{Datelike, Timelike};
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::value::{get_path, parse_date, utc};
use super::ROUTE;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct DateRouter;

const RESOLUTIONS: &[&str] = &[
    "hourly",
    "daily",
    "monthly",
    "yearly",
    "weekly",
    "weekly_epoch",
];
const DELIMITERS: &[&str] = &["-", "_", ".", "/", ""];
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Clone)]
pub struct Config {
    pub field: String,
    pub resolution: String,
    pub date_delimiter: String,
    pub unit_delimiter: String,
    pub include_date_units: bool,
    pub use_clock_time: bool,
}

fn delimiter(c: &mut Check, key: &str, default: &str) -> String {
    let d = c.string(key, default);
    if !DELIMITERS.contains(&d.as_str()) {
        c.fail(
            key,
            format!("must be one of \"-\", \"_\", \".\", \"/\" or \"\", got \"{d}\""),
        );
    }
    d
}

fn parse(c: &mut Check) -> Config {
    Config {
        field: c.required_string("field"),
        resolution: c.one_of("resolution", RESOLUTIONS, "daily"),
        date_delimiter: delimiter(c, "date_delimiter", "."),
        unit_delimiter: delimiter(c, "date_unit_delimiter", "_"),
        include_date_units: c.bool("include_date_units", false),
        use_clock_time: c.bool("use_clock_time", false),
    }
}

impl ProcessorFactory for DateRouter {
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

/// The route of the time `ms` (UTC).
pub fn route_for(c: &Config, ms: i64) -> Option<String> {
    let t = utc(ms)?;
    let unit = |name: &str, value: String| {
        if c.include_date_units {
            format!("{name}{}{value}", c.unit_delimiter)
        } else {
            value
        }
    };
    let year = unit("year", format!("{:04}", t.year()));
    let month = unit("month", format!("{:02}", t.month()));
    let day = unit("day", format!("{:02}", t.day()));
    let parts = match c.resolution.as_str() {
        "yearly" => vec![year],
        "monthly" => vec![year, month],
        "daily" => vec![year, month, day],
        "hourly" => vec![year, month, day, unit("hour", format!("{:02}", t.hour()))],
        "weekly" => {
            let jan1 = chrono::NaiveDate::from_ymd_opt(t.year(), 1, 1)?
                .and_hms_opt(0, 0, 0)?
                .and_utc()
                .timestamp_millis();
            vec![year, unit("week", format!("{:02}", (ms - jan1) / WEEK_MS))]
        }
        _ => vec![unit("week", ms.div_euclid(WEEK_MS).to_string())],
    };
    Some(parts.join(&c.date_delimiter))
}

struct Run {
    cfg: Config,
    ctx: OpContext,
}

impl OperationLifecycle for Run {}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut out = Vec::with_capacity(batch.len());
        let now = chrono::Utc::now().timestamp_millis();
        for mut record in batch {
            let ms = if self.cfg.use_clock_time {
                Some(now)
            } else {
                get_path(&record.data, &self.cfg.field).and_then(parse_date)
            };
            match ms.and_then(|ms| route_for(&self.cfg, ms)) {
                Some(route) => {
                    record.set_metadata(ROUTE, Value::String(route));
                    out.push(record);
                }
                // Teraslice emits an empty record here under `log`/`none`; we drop it (compat.md).
                None => {
                    let shown = get_path(&record.data, &self.cfg.field)
                        .map_or("nothing".to_string(), Value::to_string);
                    let err = OpError::non_retryable(format!(
                        "date_router: field \"{}\" is not a valid date, got {shown}",
                        self.cfg.field
                    ));
                    self.ctx.reject_record(&record, err)?;
                }
            }
        }
        Ok(out)
    }
}
