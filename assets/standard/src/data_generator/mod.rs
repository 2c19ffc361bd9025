//! `data_generator`: a reader that makes random records (standard-assets `data_generator`,
//! teraslice-assets.md §1). Slices are `{count, processed}`; see [`slice_size`] for their size.
mod config;
mod id_pattern;
mod record;

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Map, Value};
use teraslice_core::job::{JobConfig, Lifecycle, ValidationError};

use config::{positive, GenConfig};
use record::Generator;
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OpRegistry, OperationLifecycle, ReaderFactory, Record,
    SliceRequest, Slicer, SlicerRecoveryData,
};

pub struct DataGenerator;

/// Registers the reader (and its legacy name from elasticsearch assets v2–v3).
pub fn register(registry: &mut OpRegistry) {
    registry.register_reader("data_generator", DataGenerator);
    registry.register_reader("elasticsearch_data_generator", DataGenerator);
}

fn parse(ctx: &OpContext) -> Result<GenConfig, OpError> {
    GenConfig::parse(&ctx.config.0, Utc::now()).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        OpError::non_retryable(format!("{}: {}", ctx.config.op_name(), list.join("; ")))
    })
}

/// Records per slice: the last op's `size`; else the `size` of the api its `_api_name` names
/// (fixed on purpose: Teraslice takes the first api entry); else this op's `size`.
pub fn slice_size(job: &JobConfig, own: u64) -> u64 {
    let Some(last) = job.operations.last() else {
        return own;
    };
    if let Some(n) = last.get("size").and_then(positive) {
        return n;
    }
    last.api_name()
        .and_then(|name| job.api(name))
        .and_then(|api| api.get("size"))
        .and_then(positive)
        .unwrap_or(own)
}

impl ReaderFactory for DataGenerator {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        match GenConfig::parse(config, Utc::now()) {
            Ok(parsed) => {
                parsed.fill(config);
                Vec::new()
            }
            Err(errors) => errors,
        }
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let cfg = parse(ctx)?;
        Ok(vec![Box::new(CounterSlicer {
            total: cfg.size,
            slice_size: slice_size(&ctx.job, cfg.size),
            processed: 0,
            persistent: ctx.job.lifecycle == Lifecycle::Persistent,
        })])
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        let config = parse(ctx)?;
        Ok(Box::new(GenFetcher {
            rng: StdRng::from_os_rng(),
            generator: Generator {
                config,
                range_end: Utc::now(),
            },
        }))
    }
}

/// Teraslice's `Counter`: `{count, processed}` where `processed` includes this slice.
struct CounterSlicer {
    total: u64,
    slice_size: u64,
    processed: u64,
    persistent: bool,
}

#[async_trait]
impl Slicer for CounterSlicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        let last = recovery.and_then(|r| r.last_slice.as_ref());
        self.processed = last
            .and_then(|s| s.get("processed"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        let count = if self.persistent {
            self.slice_size
        } else {
            self.slice_size
                .min(self.total.saturating_sub(self.processed))
        };
        if count == 0 {
            return Ok(None);
        }
        self.processed += count;
        Ok(Some(json!({ "count": count, "processed": self.processed })))
    }

    fn is_recoverable(&self) -> bool {
        true
    }
    /// As Teraslice's data_generator slicer: `workersConnected * 3`.
    fn max_queue_length(&self, workers_connected: usize) -> usize {
        workers_connected.saturating_mul(3)
    }
}

struct GenFetcher {
    rng: StdRng,
    generator: Generator,
}

impl OperationLifecycle for GenFetcher {}

#[async_trait]
impl Fetcher for GenFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        if request.is_null() {
            return Ok(Vec::new());
        }
        let count = request.get("count").and_then(Value::as_u64).ok_or_else(|| {
            OpError::non_retryable(format!(
                "data_generator: a slice request must be {{\"count\": n, \"processed\": n}}, got {request}"
            ))
        })?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let cfg = &self.generator.config;
        // A seed makes a slice's records depend only on the seed and the slice.
        let mut seeded = cfg.seed.map(|seed| {
            let processed = request
                .get("processed")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            StdRng::seed_from_u64(seed ^ processed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        });
        let rng = seeded.as_mut().unwrap_or(&mut self.rng);
        if cfg.stress_test {
            let one = Record::new(self.generator.record(rng));
            return Ok(vec![one; count]);
        }
        if cfg.delay > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(cfg.delay)).await;
        }
        Ok((0..count)
            .map(|_| Record::new(self.generator.record(rng)))
            .collect())
    }
}
