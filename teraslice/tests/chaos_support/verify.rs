//! The end-state checks of a chaos run: executions against the processes in `/proc`, slice state
//! records, the output files, and orphans.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use reqwest::Method;
use serde_json::Value;
use teraslice_core::store::SliceState;

use super::{Chaos, LINES, MAX_LINES_PER_SLICE, WORKERS};
use crate::common::native::{alive, lines_below, processes_in, slices};

/// The master's stop grace in the chaos config (`shutdown_timeout` 10 s + 3 s), and a margin.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);
const TERMINAL: &[&str] = &["completed", "failed", "stopped", "terminated", "rejected"];
/// Statuses of an execution whose controller runs.
pub const LIVING: &[&str] = &["recovering", "running", "failing", "paused", "stopping"];

/// What the checks found; [`Findings::problems`] empty means the run lost nothing.
#[derive(Debug, Default)]
pub struct Findings {
    pub executions: usize,
    pub slices: usize,
    /// Output lines written more than once (at-least-once: slices in flight at a fault).
    pub duplicate_lines: u64,
    /// The most duplicate lines the faults can explain.
    pub duplicate_bound: u64,
    pub lost_lines: u64,
    pub problems: Vec<String>,
}

/// A live process of an execution, read from `/proc` (not from the master's view).
struct Proc {
    pid: u32,
    ex_id: String,
    assignment: String,
}

/// The execution processes running in `dir`, by their environment (`ex_id`, `assignment`).
fn execution_processes(dir: &Path) -> Vec<Proc> {
    processes_in(dir)
        .into_iter()
        .filter_map(|pid| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let vars: HashMap<String, String> = env
                .split(|&b| b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })
                .collect();
            Some(Proc {
                pid,
                ex_id: vars.get("ex_id")?.clone(),
                assignment: vars.get("assignment")?.clone(),
            })
        })
        .filter(|p| alive(p.pid))
        .collect()
}

impl Chaos {
    /// Every execution is terminal, or living (running, recovering…) with a live controller; no
    /// process belongs to an execution that is not living; no slice was cut twice; a completed execution has every
    /// slice completed; every input line of every `once` job was written.
    pub async fn verify(&self) -> Findings {
        let mut f = Findings::default();
        let (executions, procs) = self.after_stops_end().await;
        f.executions = executions.len();
        let mut statuses = HashMap::new();
        for ex in &executions {
            let ex_id = ex["ex_id"].as_str().unwrap_or_default().to_string();
            let status = ex["_status"].as_str().unwrap_or_default().to_string();
            let mine: Vec<&Proc> = procs.iter().filter(|p| p.ex_id == ex_id).collect();
            if LIVING.contains(&status.as_str()) {
                if !mine.iter().any(|p| p.assignment == "execution_controller") {
                    f.problems.push(format!(
                        "{ex_id} is {status} but its controller is not running"
                    ));
                }
            } else if TERMINAL.contains(&status.as_str()) {
                if !mine.is_empty() {
                    let pids: Vec<u32> = mine.iter().map(|p| p.pid).collect();
                    f.problems
                        .push(format!("{ex_id} is {status} but processes {pids:?} live"));
                }
            } else {
                f.problems.push(format!(
                    "{ex_id} is stuck in {status} after the faults ended"
                ));
            }
            self.check_slices(&ex_id, &status, &mut f).await;
            statuses.insert(ex_id, status);
        }
        for p in &procs {
            let status = statuses.get(&p.ex_id).map_or("", String::as_str);
            if !LIVING.contains(&status) {
                f.problems.push(format!(
                    "orphan: {} {} of {} (status {:?})",
                    p.assignment,
                    p.pid,
                    p.ex_id,
                    statuses.get(&p.ex_id)
                ));
            }
        }
        self.check_output(&mut f);
        f
    }

    /// The executions and their processes once no process of an ended execution is left, or
    /// after [`STOP_GRACE`]: a worker stopped while its connection is blackholed takes up to the
    /// stop's grace period (SIGTERM, then SIGKILL) to go.
    async fn after_stops_end(&self) -> (Vec<Value>, Vec<Proc>) {
        let deadline = std::time::Instant::now() + STOP_GRACE;
        loop {
            let listed = self.call(Method::GET, "/ex?size=1000", None).await;
            let executions = listed
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            let procs = execution_processes(self.m.path());
            let ended: Vec<&str> = executions
                .iter()
                .filter(|ex| TERMINAL.contains(&ex["_status"].as_str().unwrap_or_default()))
                .filter_map(|ex| ex["ex_id"].as_str())
                .collect();
            let stopping = procs.iter().any(|p| ended.contains(&p.ex_id.as_str()));
            if !stopping || std::time::Instant::now() >= deadline {
                return (executions, procs);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    async fn check_slices(&self, ex_id: &str, status: &str, f: &mut Findings) {
        let records = slices(&self.m.store(), ex_id).await;
        f.slices += records.len();
        let mut cut = HashSet::new();
        for r in &records {
            if !cut.insert((r.slicer_id, r.slicer_order)) {
                f.problems.push(format!(
                    "{ex_id}: slice {} of slicer {} was cut twice",
                    r.slicer_order, r.slicer_id
                ));
            }
            if status == "completed" && r.state != SliceState::Completed {
                f.problems.push(format!(
                    "{ex_id} completed with slice {} {:?}",
                    r.slice_id, r.state
                ));
            }
        }
    }

    /// Every input id in each `once` job's output; duplicates counted against what the faults
    /// can explain (each fault or recovery can repeat the slices in flight: one per worker).
    fn check_output(&self, f: &mut Findings) {
        let faults =
            self.tally.total() + self.recoveries.values().map(|&n| u64::from(n)).sum::<u64>();
        f.duplicate_bound = faults * WORKERS * MAX_LINES_PER_SLICE;
        for (job_id, out) in &self.once_jobs {
            let mut seen: HashMap<u64, u64> = HashMap::new();
            let lines = if out.exists() {
                lines_below(out)
            } else {
                Vec::new()
            };
            for line in lines {
                match serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["id"].as_u64())
                {
                    Some(id) => *seen.entry(id).or_default() += 1,
                    None => f
                        .problems
                        .push(format!("{job_id}: a line that is no record: {line}")),
                }
            }
            let lost = (0..LINES).filter(|i| !seen.contains_key(i)).count() as u64;
            if lost > 0 {
                f.problems
                    .push(format!("{job_id}: {lost} input lines never written"));
            }
            f.lost_lines += lost;
            f.duplicate_lines += seen.values().map(|n| n - 1).sum::<u64>();
        }
        if f.duplicate_lines > f.duplicate_bound {
            f.problems.push(format!(
                "{} lines written twice; the faults explain at most {}",
                f.duplicate_lines, f.duplicate_bound
            ));
        }
    }
}
