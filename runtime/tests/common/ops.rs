//! Test-only operations, registered like a library user's own.
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use teraslice_runtime::ops::{
    BatchProcessor, Fetcher, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    ReaderFactory, Record, SliceRequest, Slicer, SlicerRecoveryData,
};
use tokio::sync::{watch, Notify};

/// `gate`: every batch waits until the test opens the gate; entries are recorded.
#[derive(Clone)]
pub struct Gate {
    pub entered: Arc<Mutex<Vec<(String, String)>>>,
    pub notify: Arc<Notify>,
    open: Arc<watch::Sender<bool>>,
}

impl Gate {
    pub fn new() -> Self {
        Gate {
            entered: Arc::default(),
            notify: Arc::default(),
            open: Arc::new(watch::channel(false).0),
        }
    }
    pub fn open(&self) {
        self.open.send_replace(true);
    }
    /// `(worker_id, slice_id)` of every batch that reached the gate.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.entered.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

struct GateProcessor {
    gate: Gate,
    worker_id: String,
    slice_id: String,
}

impl ProcessorFactory for Gate {
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(GateProcessor {
            gate: self.clone(),
            worker_id: ctx.worker_id.clone().unwrap_or_default(),
            slice_id: String::new(),
        }))
    }
}

#[async_trait]
impl OperationLifecycle for GateProcessor {
    async fn on_slice_initialized(&mut self, slice_id: &str) -> Result<(), OpError> {
        self.slice_id = slice_id.to_string();
        Ok(())
    }
}

#[async_trait]
impl BatchProcessor for GateProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        if let Ok(mut e) = self.gate.entered.lock() {
            e.push((self.worker_id.clone(), self.slice_id.clone()));
        }
        self.gate.notify.notify_waiters();
        let mut open = self.gate.open.subscribe();
        let _ = open.wait_for(|o| *o).await;
        Ok(batch)
    }
}

/// `fail`: fails when the call number (from 1) is a multiple of `every`; counts calls.
#[derive(Clone)]
pub struct Fail {
    pub calls: Arc<AtomicU32>,
    pub every: u32,
    /// Only calls up to this number may fail.
    pub until: u32,
    /// Fail with `OpError::fatal` (the worker gives up).
    pub fatal: bool,
}

impl Fail {
    pub fn always() -> Self {
        Fail {
            calls: Arc::default(),
            every: 1,
            until: u32::MAX,
            fatal: false,
        }
    }
    pub fn every(n: u32) -> Self {
        Fail {
            calls: Arc::default(),
            every: n,
            until: u32::MAX,
            fatal: false,
        }
    }
    /// Fails the first `n` calls only.
    pub fn first(n: u32) -> Self {
        Fail {
            calls: Arc::default(),
            every: 1,
            until: n,
            fatal: false,
        }
    }
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

struct FailProcessor(Fail);

impl ProcessorFactory for Fail {
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(FailProcessor(self.clone())))
    }
}

impl OperationLifecycle for FailProcessor {}

#[async_trait]
impl BatchProcessor for FailProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.0.until && n.is_multiple_of(self.0.every) {
            let message = format!("boom on call {n}");
            return Err(if self.0.fatal {
                OpError::fatal(message)
            } else {
                OpError::new(message)
            });
        }
        Ok(batch)
    }
}

/// `counter`: a recoverable reader with `job.slicers` streams; stream `s` makes the requests
/// `{"s": s, "i": i}` for `i` in `0..per_stream`, starting after the recovered `lastSlice`.
/// Starting points it was given are recorded in `starts`.
#[derive(Clone)]
pub struct Counter {
    pub per_stream: u64,
    /// What its slicers answer to `is_relocatable()`.
    pub relocatable: bool,
    pub starts: Arc<Mutex<Vec<SlicerRecoveryData>>>,
}

impl Counter {
    pub fn new(per_stream: u64) -> Self {
        Counter {
            per_stream,
            relocatable: false,
            starts: Arc::default(),
        }
    }
}

struct CounterSlicer {
    relocatable: bool,
    stream: u32,
    next: u64,
    end: u64,
    starts: Arc<Mutex<Vec<SlicerRecoveryData>>>,
}

impl ReaderFactory for Counter {
    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        Ok((0..ctx.job.slicers)
            .map(|stream| {
                Box::new(CounterSlicer {
                    relocatable: self.relocatable,
                    stream,
                    next: 0,
                    end: self.per_stream,
                    starts: self.starts.clone(),
                }) as Box<dyn Slicer>
            })
            .collect())
    }
    fn fetcher(&self, _ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        Ok(Box::new(EchoFetcher))
    }
}

#[async_trait]
impl Slicer for CounterSlicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        if let Some(r) = recovery {
            if let Ok(mut s) = self.starts.lock() {
                s.push(r.clone());
            }
            if let Some(i) = r.last_slice.as_ref().and_then(|l| l["i"].as_u64()) {
                self.next = i + 1;
            }
        }
        Ok(())
    }
    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        if self.next >= self.end {
            return Ok(None);
        }
        self.next += 1;
        Ok(Some(json!({ "s": self.stream, "i": self.next - 1 })))
    }
    fn is_recoverable(&self) -> bool {
        true
    }
    fn is_relocatable(&self) -> bool {
        self.relocatable
    }
}

struct EchoFetcher;

impl OperationLifecycle for EchoFetcher {}

#[async_trait]
impl Fetcher for EchoFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        Ok(vec![Record::new(request.clone())])
    }
}

/// `count`: counts the records it sees.
#[derive(Clone, Default)]
pub struct Count(pub Arc<AtomicU32>);

struct CountProcessor(Arc<AtomicU32>);

impl ProcessorFactory for Count {
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(CountProcessor(self.0.clone())))
    }
}

impl OperationLifecycle for CountProcessor {}

#[async_trait]
impl BatchProcessor for CountProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        self.0.fetch_add(
            u32::try_from(batch.len()).unwrap_or(u32::MAX),
            Ordering::SeqCst,
        );
        Ok(batch)
    }
}
