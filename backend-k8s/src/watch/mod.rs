//! One label-selected pod watch per backend: a reflector cache for cluster state and a tracker
//! that turns pod changes into lifecycle events.
mod pod_info;
mod state;
mod tracker;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, ResourceExt};
use teraslice_core::backend::{BackendEvent, ClusterState};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

pub use state::cluster_state;
pub use tracker::Tracker;

/// How often pending pods are checked against the unschedulable timeout.
const TIMEOUT_CHECK: Duration = Duration::from_secs(1);

/// The watch's shared parts: the cache, the event bookkeeping and the last watch error.
#[derive(Clone)]
pub struct PodWatch {
    store: Store<Pod>,
    tracker: Arc<Mutex<Tracker>>,
    last_error: Arc<Mutex<Option<String>>>,
    /// Set once the first complete list has been handled (not just cached).
    synced: Arc<tokio::sync::watch::Sender<bool>>,
    events: broadcast::Sender<BackendEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The bookkeeping stays usable after a panic elsewhere; it holds no invariants across calls.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PodWatch {
    /// Starts watching `selector` pods of `pods`' namespace; the task ends with the returned handle.
    pub fn start(
        pods: Api<Pod>,
        selector: &str,
        unschedulable_timeout: Duration,
        events: broadcast::Sender<BackendEvent>,
    ) -> (Self, JoinHandle<()>) {
        let (store, writer) = reflector::store();
        let watch = PodWatch {
            store,
            tracker: Arc::new(Mutex::new(Tracker::new(unschedulable_timeout))),
            last_error: Arc::default(),
            synced: Arc::new(tokio::sync::watch::Sender::new(false)),
            events,
        };
        let config = watcher::Config::default().labels(selector);
        let stream = watcher(pods, config)
            .default_backoff()
            // managedFields are most of a pod's size and nothing here reads them.
            .modify(|pod: &mut Pod| pod.managed_fields_mut().clear())
            .reflect(writer);
        let task = tokio::spawn(watch.clone().run(stream.boxed()));
        (watch, task)
    }

    async fn run(
        self,
        mut stream: futures::stream::BoxStream<
            'static,
            Result<watcher::Event<Pod>, watcher::Error>,
        >,
    ) {
        let mut tick = tokio::time::interval(TIMEOUT_CHECK);
        loop {
            tokio::select! {
                next = stream.next() => match next {
                    Some(Ok(ev)) => {
                        *lock(&self.last_error) = None;
                        self.handle(ev);
                    }
                    Some(Err(e)) => {
                        // default_backoff() retries; keep the reason for readiness reports.
                        warn!(error = %e, "pod watch failed; retrying with backoff");
                        *lock(&self.last_error) = Some(e.to_string());
                    }
                    None => return,
                },
                _ = tick.tick() => {
                    let events = lock(&self.tracker).check_timeouts(Instant::now());
                    self.send(events);
                }
            }
        }
    }

    fn handle(&self, ev: watcher::Event<Pod>) {
        let events = match &ev {
            watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                lock(&self.tracker).applied(pod, Instant::now())
            }
            watcher::Event::Delete(pod) => {
                let remaining = self.pods_of(pod_info::ex_id(pod).unwrap_or_default());
                lock(&self.tracker).deleted(pod, remaining)
            }
            watcher::Event::InitDone => {
                self.synced.send_replace(true);
                let pods = self.store.state();
                let present = pods.iter().map(|p| pod_info::key(p)).collect();
                let count = |ex_id: &str| {
                    pods.iter()
                        .filter(|p| pod_info::ex_id(p) == Some(ex_id))
                        .count()
                };
                lock(&self.tracker).resync(&present, count)
            }
            watcher::Event::Init => Vec::new(),
        };
        self.send(events);
    }

    fn send(&self, events: Vec<BackendEvent>) {
        for ev in events {
            debug!(ex_id = %ev.ex_id, kind = ?ev.kind, "backend event");
            // No subscriber is fine: the master may not listen yet.
            let _ = self.events.send(ev);
        }
    }

    /// Pods of `ex_id` in the cache.
    pub fn pods_of(&self, ex_id: &str) -> usize {
        self.store
            .state()
            .iter()
            .filter(|p| pod_info::ex_id(p) == Some(ex_id))
            .count()
    }

    /// `terminationGracePeriodSeconds` of each cached pod of `ex_id`.
    pub fn grace_periods_of(&self, ex_id: &str) -> Vec<Option<i64>> {
        self.store
            .state()
            .iter()
            .filter(|p| pod_info::ex_id(p) == Some(ex_id))
            .map(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .collect()
    }

    /// Marks a stop; `Stopped` is sent when the execution's last pod is gone (now, if none).
    pub fn stopping(&self, ex_id: &str) {
        if self.pods_of(ex_id) == 0 {
            self.send(vec![BackendEvent {
                ex_id: ex_id.to_string(),
                kind: teraslice_core::backend::EventKind::Stopped,
            }]);
            return;
        }
        lock(&self.tracker).stopping(ex_id);
    }

    /// Waits for the first complete list of pods.
    pub async fn wait_synced(&self, timeout: Duration) -> Result<(), String> {
        let mut synced = self.synced.subscribe();
        let first_list = async { synced.wait_for(|s| *s).await.map(|_| ()) };
        match tokio::time::timeout(timeout, first_list).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("the pod watch ended before its first list".into()),
            Err(_) => Err(self
                .last_error()
                .unwrap_or_else(|| format!("no pod list within {}s", timeout.as_secs()))),
        }
    }

    /// Whether the first complete pod list has arrived.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    pub fn cluster_state(&self) -> ClusterState {
        cluster_state(&self.store.state())
    }
}
