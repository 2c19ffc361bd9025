//! The chaos run: a native master on SQLite runs a mix of `once` jobs (file_reader of numbered
//! lines → delay → file_exporter) and a `persistent` one (data_generator → delay → noop) while
//! faults are injected at random; failed executions are recovered as an operator would. After
//! the deadline every fault is healed, the jobs are let finish, and [`verify`] checks the end state
//! against the store, the output files and `/proc`.
#![allow(dead_code)]
pub mod faults;
#[path = "../../../runtime/tests/common/relay.rs"]
pub mod relay;
pub mod relays;
pub mod verify;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::native::{alive, NativeMaster};
use faults::{pick_fault, signal, Fault, Rng, StoreLock, Tally};
use relays::RelayBroker;

/// Numbered input lines each `once` job reads.
pub const LINES: u64 = 2000;
/// Bytes per slice of the file reader: about 70 lines.
const SLICE_BYTES: u64 = 5000;
/// At most this many lines in one slice (for the duplicate bound).
pub const MAX_LINES_PER_SLICE: u64 = 100;
pub const WORKERS: u64 = 2;
/// Recoveries of one job before the run stops recovering it (and the check fails).
const MAX_RECOVERIES: u32 = 40;
/// How long the jobs may take to finish once the faults stop.
const SETTLE: Duration = Duration::from_secs(300);
/// The seed of the short run in `cargo test` (passed at 40 s, 2026-12-06, and with blackholed
/// relays in the mix, 44–47 s, 2026-12-07).
const CI_SEED: u64 = 6057;

/// `CHAOS_DURATION` (seconds, `120` or `120s`) and `CHAOS_SEED`; `cargo xtask chaos` sets both.
pub struct Settings {
    pub duration: Duration,
    pub seed: u64,
}

impl Settings {
    pub fn from_env(default_secs: u64) -> Settings {
        let secs = std::env::var("CHAOS_DURATION")
            .ok()
            .and_then(|s| s.trim_end_matches('s').parse().ok())
            .unwrap_or(default_secs);
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            // `cargo test` (CI) replays one seed that passed; `cargo xtask chaos` draws new ones.
            .unwrap_or(CI_SEED);
        Settings {
            duration: Duration::from_secs(secs),
            seed,
        }
    }
}

pub struct Chaos {
    /// First, so that it is dropped (the flag removed) before the master's temp dir is deleted.
    store_lock: Option<(StoreLock, Instant)>,
    pub m: NativeMaster,
    rng: Rng,
    input: PathBuf,
    /// Job ids of the `once` jobs, with their output directories.
    pub once_jobs: Vec<(String, PathBuf)>,
    pub persistent_job: String,
    pub tally: Tally,
    pub recoveries: HashMap<String, u32>,
    frozen: Vec<(u32, Instant)>,
    /// Every worker reaches its controller through a relay of this broker.
    broker: RelayBroker,
    /// Relays (indices into the broker's list) blackholed, until when.
    blackholed: Vec<(Vec<usize>, Instant)>,
    /// Holds the wrapper script the master starts its children through.
    _wrapper_dir: tempfile::TempDir,
}

impl Chaos {
    pub async fn start(seed: u64) -> Chaos {
        let broker = RelayBroker::start().await;
        let wrapper_dir = tempfile::tempdir().expect("temp dir for the wrapper");
        let wrapper = RelayBroker::write_wrapper(wrapper_dir.path());
        let env = vec![
            (
                "TERASLICE_NATIVE_WRAPPER".to_string(),
                wrapper.display().to_string(),
            ),
            ("CHAOS_RELAY_BROKER".to_string(), broker.port.to_string()),
        ];
        // Short disconnect and heartbeat timeouts: a worker killed, frozen or blackholed is given
        // up on in seconds, and a worker finds a silent controller as fast.
        let m = NativeMaster::start_with_env(
            "  worker_disconnect_timeout: 3000\n  heartbeat_timeout: 3000\n",
            env,
        );
        let input = m.path().join("input.ldjson");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("create input"));
        for i in 0..LINES {
            writeln!(f, "{}", json!({"id": i, "pad": "x".repeat(50)})).expect("write input");
        }
        drop(f);
        let mut chaos = Chaos {
            store_lock: None,
            m,
            rng: Rng::new(seed),
            input,
            once_jobs: Vec::new(),
            persistent_job: String::new(),
            tally: Tally::default(),
            recoveries: HashMap::new(),
            frozen: Vec::new(),
            broker,
            blackholed: Vec::new(),
            _wrapper_dir: wrapper_dir,
        };
        let persistent = json!({
            "name": "chaos-persistent", "lifecycle": "persistent", "workers": 1,
            "operations": [
                {"_op": "data_generator", "size": 50},
                {"_op": "delay", "ms": 200},
                {"_op": "noop"}
            ]
        });
        chaos.persistent_job = chaos
            .submit(&persistent)
            .await
            .expect("the persistent job starts");
        for _ in 0..2 {
            assert!(chaos.submit_once().await, "the first once jobs start");
        }
        chaos
    }

    /// `method path` with a bounded wait; `None` while the master is down or the call failed.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Option<Value> {
        let mut req = self
            .m
            .http
            .request(method, format!("{}{path}", self.m.url))
            .timeout(Duration::from_secs(20));
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.ok()?;
        if res.status() != StatusCode::OK {
            return None;
        }
        res.json().await.ok()
    }

    async fn submit(&self, spec: &Value) -> Option<String> {
        let body = self.call(Method::POST, "/jobs", Some(spec)).await?;
        body["job_id"].as_str().map(str::to_string)
    }

    async fn submit_once(&mut self) -> bool {
        let n = self.once_jobs.len();
        let out = self.m.path().join("out").join(format!("job{n}"));
        let spec = json!({
            "name": format!("chaos-once-{n}"), "lifecycle": "once", "workers": WORKERS,
            "operations": [
                {"_op": "file_reader", "path": self.input, "file_per_slice": false,
                 "size": SLICE_BYTES},
                {"_op": "delay", "ms": 300},
                {"_op": "file_exporter", "path": out, "file_per_slice": true}
            ]
        });
        match self.submit(&spec).await {
            Some(job_id) => {
                self.once_jobs.push((job_id, out));
                true
            }
            None => false,
        }
    }

    /// `(ex_id, assignment, pid)` of every live, unfrozen process in the cluster state.
    async fn targets(&self, assignment: &str) -> Vec<u32> {
        let Some(state) = self.call(Method::GET, "/cluster/state", None).await else {
            return Vec::new();
        };
        let nodes = state.as_object().cloned().unwrap_or_default();
        nodes
            .values()
            .flat_map(|n| n["active"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["assignment"] == assignment)
            .filter_map(|p| p["pid"].as_u64().and_then(|p| u32::try_from(p).ok()))
            .filter(|&pid| alive(pid) && !self.frozen.iter().any(|(f, _)| *f == pid))
            .collect()
    }

    /// Injects one fault; false when it found nothing to act on.
    async fn inject(&mut self, fault: Fault) -> bool {
        let pause = Duration::from_millis(self.rng.range(1000, 6000));
        match fault {
            Fault::KillWorker | Fault::KillController => {
                let role = if fault == Fault::KillWorker {
                    "worker"
                } else {
                    "execution_controller"
                };
                let pids = self.targets(role).await;
                match self.rng.pick(&pids) {
                    Some(&pid) => signal(pid, "KILL"),
                    None => false,
                }
            }
            Fault::FreezeWorker | Fault::FreezeController => {
                let role = if fault == Fault::FreezeWorker {
                    "worker"
                } else {
                    "execution_controller"
                };
                let pids = self.targets(role).await;
                match self.rng.pick(&pids) {
                    Some(&pid) if signal(pid, "STOP") => {
                        self.frozen.push((pid, Instant::now() + pause));
                        true
                    }
                    _ => false,
                }
            }
            Fault::BlackholeWorker | Fault::BlackholeController => {
                let live = self.targets("worker").await;
                let relays = self.broker.lock();
                let candidates: Vec<usize> = (0..relays.len())
                    .filter(|&i| live.contains(&relays[i].pid))
                    .collect();
                let Some(&first) = self.rng.pick(&candidates) else {
                    return false;
                };
                let cut: Vec<usize> = if fault == Fault::BlackholeWorker {
                    vec![first]
                } else {
                    let port = relays[first].controller_port;
                    (0..relays.len())
                        .filter(|&i| relays[i].controller_port == port)
                        .collect()
                };
                for &i in &cut {
                    relays[i].relay.blackhole();
                }
                drop(relays);
                self.blackholed.push((cut, Instant::now() + pause));
                true
            }
            Fault::KillMaster => {
                // A new master waits for its store before it listens and prints its address,
                // which the restart below blocks on: a store outage in progress must still end
                // on time meanwhile (seed 42 hung here until the outage was lifted by hand).
                if let Some((lock, until)) = self.store_lock.take() {
                    std::thread::spawn(move || {
                        std::thread::sleep(until.saturating_duration_since(Instant::now()));
                        lock.release();
                    });
                }
                self.m.restart_after_kill();
                true
            }
            Fault::StoreReadOnly => {
                if self.store_lock.is_some() {
                    return false;
                }
                let lock = StoreLock::engage(&self.m.path().join("data"));
                self.store_lock = Some((lock, Instant::now() + pause));
                true
            }
            Fault::SubmitJob => self.once_jobs.len() < 12 && self.submit_once().await,
        }
    }

    /// Ends the faults whose time is up (`all`: every one).
    fn heal(&mut self, all: bool) {
        let now = Instant::now();
        self.frozen.retain(|&(pid, until)| {
            if all || until <= now {
                signal(pid, "CONT");
                false
            } else {
                true
            }
        });
        let relays = self.broker.lock();
        self.blackholed.retain(|(cut, until)| {
            if all || *until <= now {
                // New connections through these relays are forwarded again.
                for &i in cut {
                    relays[i].relay.heal();
                }
                false
            } else {
                true
            }
        });
        drop(relays);
        if self
            .store_lock
            .as_ref()
            .is_some_and(|(_, until)| all || *until <= now)
        {
            if let Some((lock, _)) = self.store_lock.take() {
                lock.release();
            }
        }
    }

    /// Worker starts that went through a relay.
    pub fn relayed_workers(&self) -> usize {
        self.broker.lock().len()
    }

    /// Every job id the run started.
    pub fn jobs(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.once_jobs.iter().map(|(j, _)| j.clone()).collect();
        ids.push(self.persistent_job.clone());
        ids
    }

    /// The latest execution's `(ex_id, status)` of `job_id`.
    pub async fn latest(&self, job_id: &str) -> Option<(String, String)> {
        let ex = self
            .call(Method::GET, &format!("/jobs/{job_id}/ex"), None)
            .await?;
        Some((
            ex["ex_id"].as_str()?.to_string(),
            ex["_status"].as_str()?.to_string(),
        ))
    }

    /// Recovers every job whose latest execution failed, as an operator would.
    async fn supervise(&mut self) {
        for job_id in self.jobs() {
            let Some((ex_id, status)) = self.latest(&job_id).await else {
                continue;
            };
            let tries = self.recoveries.get(&job_id).copied().unwrap_or(0);
            if status == "failed" && tries < MAX_RECOVERIES {
                let path = format!("/ex/{ex_id}/_recover");
                if self.call(Method::POST, &path, None).await.is_some() {
                    *self.recoveries.entry(job_id).or_default() += 1;
                }
            }
        }
    }

    /// Injects faults until `duration` is over, then heals them all.
    pub async fn run(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            self.heal(false);
            self.supervise().await;
            let fault = pick_fault(&mut self.rng);
            if self.inject(fault).await {
                self.tally.add(fault);
            }
            let wait = self.rng.range(300, 2000);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        self.heal(true);
    }

    /// Lets the `once` jobs finish (recovering failed executions); true when every one completed
    /// and the persistent job lives.
    pub async fn settle(&mut self) -> bool {
        let end = Instant::now() + SETTLE;
        while Instant::now() < end {
            self.supervise().await;
            let mut done = true;
            for (job_id, _) in &self.once_jobs {
                let status = self.latest(job_id).await.map(|(_, s)| s);
                done &= status.as_deref() == Some("completed");
            }
            // A recovered persistent execution first re-runs the slices its predecessor had
            // queued (`recovering`), then runs on.
            let persistent = self.latest(&self.persistent_job).await.map(|(_, s)| s);
            if persistent
                .as_deref()
                .is_some_and(|s| s == "terminated" || s == "stopped")
            {
                // Nothing here stops it: ended by a fault's side effect, and not recovered.
                return false;
            }
            let living = persistent.is_some_and(|s| verify::LIVING.contains(&s.as_str()));
            if done && living {
                return true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        false
    }
}
