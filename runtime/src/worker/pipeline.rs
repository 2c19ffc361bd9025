//! The worker's operations for one execution: fetcher → processors, with the lifecycle hooks,
//! per-slice retries (`max_retries + 1` attempts, as Teraslice) and per-op analytics.
use std::sync::Arc;
use std::time::{Duration, Instant};

use teraslice_core::ExecutionRecord;

use crate::ops::{
    BatchProcessor, Fetcher, OpContext, OpError, OpRegistry, OperationLifecycle, Slice,
};
use crate::protocol::SliceAnalytics;

/// How one slice ended in this worker.
pub struct SliceRun {
    pub result: Result<SliceAnalytics, OpError>,
    /// Failed attempts before the last one.
    pub retry_count: u32,
}

pub struct Pipeline {
    fetcher: Box<dyn Fetcher>,
    processors: Vec<Box<dyn BatchProcessor>>,
    names: Vec<String>,
    max_retries: u32,
    last_slice: Option<String>,
    last_ok: bool,
}

impl Pipeline {
    pub fn build(
        registry: &OpRegistry,
        ex: &ExecutionRecord,
        worker_id: &str,
    ) -> Result<Self, OpError> {
        let job = Arc::new(ex.job.clone());
        let apis = registry.create_apis(&ex.ex_id, &ex.job)?;
        let reader = ex.job.reader().ok_or_else(|| {
            OpError::non_retryable(format!(
                "execution {} has no operations: the first must be a reader",
                ex.ex_id
            ))
        })?;
        let ctx = |index: usize, config: &teraslice_core::job::OpConfig| OpContext {
            ex_id: ex.ex_id.clone(),
            job_id: ex.job_id.clone(),
            job: job.clone(),
            config: config.clone(),
            index,
            worker_id: Some(worker_id.to_string()),
            apis: apis.clone(),
        };
        let fetcher = registry
            .reader(reader.op_name())?
            .fetcher(&ctx(0, reader))
            .map_err(|e| e.context(format!("operations[0] ({})", reader.op_name())))?;
        let mut processors = Vec::new();
        for (i, op) in ex.job.processors().iter().enumerate() {
            let p = registry
                .processor(op.op_name())
                .and_then(|f| f.processor(&ctx(i + 1, op)))
                .map_err(|e| e.context(format!("operations[{}] ({})", i + 1, op.op_name())))?;
            processors.push(p);
        }
        Ok(Pipeline {
            fetcher,
            processors,
            names: ex
                .job
                .operations
                .iter()
                .map(|o| o.op_name().to_string())
                .collect(),
            max_retries: ex.job.max_retries,
            last_slice: None,
            last_ok: false,
        })
    }

    fn ops(&mut self) -> Vec<&mut dyn OperationLifecycle> {
        let mut v: Vec<&mut dyn OperationLifecycle> = vec![self.fetcher.as_mut()];
        v.extend(
            self.processors
                .iter_mut()
                .map(|p| p.as_mut() as &mut dyn OperationLifecycle),
        );
        v
    }

    pub async fn initialize(&mut self) -> Result<(), OpError> {
        let names = self.names.clone();
        for (i, op) in self.ops().into_iter().enumerate() {
            op.initialize().await.map_err(|e| {
                e.context(format!(
                    "initialize operations[{i}] ({})",
                    names.get(i).map_or("", String::as_str)
                ))
            })?;
        }
        Ok(())
    }

    pub async fn shutdown(&mut self) {
        for op in self.ops() {
            if let Err(e) = op.shutdown().await {
                tracing::warn!(error = %e, "operation shutdown failed");
            }
        }
    }

    async fn attempt(&mut self, slice: &Slice) -> Result<SliceAnalytics, OpError> {
        let n = self.processors.len() + 1;
        let mut a = SliceAnalytics {
            time: vec![-1; n],
            size: vec![-1; n],
            memory: vec![0; n],
        };
        let at = |i: usize, names: &[String]| {
            format!(
                "operations[{i}] ({})",
                names.get(i).map_or("", String::as_str)
            )
        };
        let t = Instant::now();
        let mut records = self
            .fetcher
            .fetch(&slice.request)
            .await
            .map_err(|e| e.context(at(0, &self.names)))?;
        a.time[0] = millis(t);
        a.size[0] = records.len() as i64;
        for op in self.ops() {
            op.on_slice_started(&slice.slice_id).await?;
        }
        for (i, p) in self.processors.iter_mut().enumerate() {
            let t = Instant::now();
            records = p
                .on_batch(records)
                .await
                .map_err(|e| e.context(at(i + 1, &self.names)))?;
            a.time[i + 1] = millis(t);
            a.size[i + 1] = records.len() as i64;
        }
        Ok(a)
    }

    /// Runs one slice with retries. Hooks: initialized (new slice ids only), started,
    /// retry (may veto), failed, finalizing.
    pub async fn run_slice(&mut self, slice: &Slice) -> SliceRun {
        let id = slice.slice_id.as_str();
        let mut retry_count = 0;
        let mut delays = retry_delays();
        let mut result = Ok(());
        if self.last_slice.as_deref() != Some(id) {
            for op in self.ops() {
                result = result.and(op.on_slice_initialized(id).await);
            }
        }
        self.last_slice = Some(id.to_string());
        let result = match result {
            Err(e) => Err(e),
            Ok(()) => loop {
                match self.attempt(slice).await {
                    Ok(a) => break Ok(a),
                    Err(e) if e.retryable && retry_count < self.max_retries => {
                        retry_count += 1;
                        tracing::warn!(slice_id = id, attempt = retry_count, error = %e, "slice attempt failed, retrying");
                        if let Some(veto) = self.retry_veto(id).await {
                            break Err(OpError::non_retryable(format!(
                                "Slice failed to retry: {veto}, caused by: {e}"
                            )));
                        }
                        let delay = delays.next().unwrap_or(RETRY_MAX_DELAY);
                        tokio::time::sleep(delay).await;
                    }
                    Err(e) => break Err(e),
                }
            },
        };
        if result.is_err() {
            for op in self.ops() {
                if let Err(e) = op.on_slice_failed(id).await {
                    tracing::warn!(slice_id = id, error = %e, "on_slice_failed hook failed");
                }
            }
        }
        for op in self.ops() {
            if let Err(e) = op.on_slice_finalizing(id).await {
                tracing::warn!(slice_id = id, error = %e, "on_slice_finalizing hook failed");
            }
        }
        self.last_ok = result.is_ok();
        SliceRun {
            result,
            retry_count,
        }
    }

    async fn retry_veto(&mut self, id: &str) -> Option<OpError> {
        for op in self.ops() {
            if let Err(e) = op.on_slice_retry(id).await {
                return Some(e);
            }
        }
        None
    }

    /// The EC recorded the slice as completed.
    pub async fn finished(&mut self, id: &str) {
        for op in self.ops() {
            if let Err(e) = op.on_slice_finished(id).await {
                tracing::warn!(slice_id = id, error = %e, "on_slice_finished hook failed");
            }
        }
    }

    /// Draining: the processors get one empty batch so they can emit what they hold
    /// (e.g. `collect`). Skipped when no slice succeeded last.
    pub async fn flush(&mut self) {
        if !self.last_ok {
            return;
        }
        for op in self.ops() {
            if let Err(e) = op.on_flush_start().await {
                tracing::warn!(error = %e, "on_flush_start hook failed");
            }
        }
        let mut records = Vec::new();
        for p in self.processors.iter_mut() {
            match p.on_batch(records).await {
                Ok(r) => records = r,
                Err(e) => {
                    tracing::error!(error = %e, "flush failed");
                    break;
                }
            }
        }
        for op in self.ops() {
            if let Err(e) = op.on_flush_end().await {
                tracing::warn!(error = %e, "on_flush_end hook failed");
            }
        }
    }
}

fn millis(t: Instant) -> i64 {
    i64::try_from(t.elapsed().as_millis()).unwrap_or(i64::MAX)
}

const RETRY_MAX_DELAY: Duration = Duration::from_secs(60);

/// 100 ms, 200 ms, 400 ms … up to 60 s (Teraslice's pRetry grows about as fast), each plus a
/// random part of up to as much again, so workers that failed together do not retry in step.
fn retry_delays() -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(RETRY_MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
}
