//! Pod changes → lifecycle events: started, exited, cannot be scheduled, image cannot be pulled,
//! crash-looping (Teraslice issues #804, #1395, #2141, #2673). Pure bookkeeping, no I/O.
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use teraslice_core::backend::{Assignment, BackendEvent, EventKind};

use super::pod_info as info;

/// The container cannot be created as specified (a missing Secret or ConfigMap key, a bad command).
const START_FAILURE_REASONS: [&str; 3] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];
const IMAGE_PULL_REASONS: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

#[derive(Default)]
struct ExecutionTrack {
    controller_started: bool,
    /// Workers that ran before the controller did: reported right after it.
    pending_workers: Vec<String>,
    /// One fatal event per execution is enough for the scheduler to fail it.
    fatal_sent: bool,
    stopping: bool,
}

/// Remembers what was already reported so each event is sent once.
pub struct Tracker {
    unschedulable_timeout: Duration,
    /// Running pods reported as started: key → (ex_id, role, pod name, relocatable EC).
    running: HashMap<String, (String, Assignment, String, bool)>,
    exited: HashSet<String>,
    /// pod key → (ex_id, pod name, first seen unschedulable, scheduler message)
    unschedulable: HashMap<String, (String, String, Instant, String)>,
    executions: HashMap<String, ExecutionTrack>,
}

fn event(ex_id: &str, kind: EventKind) -> BackendEvent {
    BackendEvent {
        ex_id: ex_id.to_string(),
        kind,
    }
}

impl Tracker {
    pub fn new(unschedulable_timeout: Duration) -> Self {
        Tracker {
            unschedulable_timeout,
            running: HashMap::new(),
            exited: HashSet::new(),
            unschedulable: HashMap::new(),
            executions: HashMap::new(),
        }
    }

    /// A pod was added or changed.
    pub fn applied(&mut self, pod: &Pod, now: Instant) -> Vec<BackendEvent> {
        let (Some(role), Some(ex_id)) = (info::role(pod), info::ex_id(pod)) else {
            return Vec::new();
        };
        let ex_id = ex_id.to_string();
        let key = info::key(pod);
        let mut out = Vec::new();
        match info::phase(pod) {
            Some("Running") if !self.running.contains_key(&key) => {
                let name = info::name(pod).to_string();
                let relocates = info::relocatable(pod);
                self.running
                    .insert(key.clone(), (ex_id.clone(), role, name, relocates));
                self.unschedulable.remove(&key);
                self.started(&ex_id, role, info::name(pod), &mut out);
            }
            Some("Failed" | "Succeeded") if self.exited.insert(key.clone()) => {
                let (code, reason) = info::termination(pod);
                out.push(event(&ex_id, exited(role, pod, code, reason)));
            }
            _ => {}
        }
        match info::unschedulable_message(pod) {
            Some(message) => {
                self.unschedulable
                    .entry(key)
                    .or_insert_with(|| (ex_id.clone(), info::name(pod).to_string(), now, message));
            }
            None => {
                self.unschedulable.remove(&key);
            }
        }
        if let Some(kind) = waiting_failure(pod) {
            self.fatal(&ex_id, kind, &mut out);
        }
        out
    }

    /// A pod is gone; `remaining` is how many pods of its execution are left.
    pub fn deleted(&mut self, pod: &Pod, remaining: usize) -> Vec<BackendEvent> {
        let (Some(role), Some(ex_id)) = (info::role(pod), info::ex_id(pod)) else {
            return Vec::new();
        };
        let key = info::key(pod);
        self.unschedulable.remove(&key);
        let was_running = self.running.remove(&key).is_some();
        let had_exited = self.exited.remove(&key);
        let mut out = Vec::new();
        if was_running && !had_exited && !self.relocates(ex_id, info::relocatable(pod)) {
            let (code, reason) = info::termination(pod);
            let reason = format!("{reason} (pod deleted)");
            out.push(event(ex_id, exited(role, pod, code, reason)));
        }
        if remaining == 0 {
            if let Some(track) = self.executions.remove(ex_id) {
                if track.stopping {
                    out.push(event(ex_id, EventKind::Stopped));
                }
            }
        }
        out
    }

    /// After a re-list: pods that vanished while the watch was down get their exit reported.
    /// `present` holds the keys of listed pods, `count` the pods left per execution.
    pub fn resync(
        &mut self,
        present: &HashSet<String>,
        count: impl Fn(&str) -> usize,
    ) -> Vec<BackendEvent> {
        self.unschedulable.retain(|k, _| present.contains(k));
        self.exited.retain(|k| present.contains(k));
        let gone: Vec<_> = self
            .running
            .iter()
            .filter(|(k, _)| !present.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = Vec::new();
        for (key, (ex_id, role, name, relocatable)) in gone {
            self.running.remove(&key);
            if self.relocates(&ex_id, relocatable) {
                continue;
            }
            let reason =
                format!("pod {name} is gone (deleted while the pod watch was reconnecting)");
            let kind = match role {
                Assignment::ExecutionController => {
                    EventKind::ControllerExited { code: None, reason }
                }
                Assignment::Worker => EventKind::WorkerExited {
                    worker_id: name,
                    code: None,
                    reason,
                },
            };
            out.push(event(&ex_id, kind));
            if count(&ex_id) == 0 {
                if let Some(track) = self.executions.remove(&ex_id) {
                    if track.stopping {
                        out.push(event(&ex_id, EventKind::Stopped));
                    }
                }
            }
        }
        out
    }

    /// A relocatable EC whose pod was removed (drain, eviction, lost node) is re-created by its
    /// Job and picks the execution up again: not an exit, unless we are stopping it.
    fn relocates(&self, ex_id: &str, relocatable: bool) -> bool {
        relocatable && !self.executions.get(ex_id).is_some_and(|t| t.stopping)
    }

    /// Marks a stop; `Stopped` follows when the execution's last pod is gone.
    pub fn stopping(&mut self, ex_id: &str) {
        self.executions
            .entry(ex_id.to_string())
            .or_default()
            .stopping = true;
    }

    /// Pods still unschedulable after the timeout fail their execution.
    pub fn check_timeouts(&mut self, now: Instant) -> Vec<BackendEvent> {
        let timeout = self.unschedulable_timeout;
        let expired: Vec<(String, String)> = self
            .unschedulable
            .values()
            .filter(|(_, _, since, _)| now.duration_since(*since) >= timeout)
            .map(|(ex_id, name, _, message)| {
                let reason = format!(
                    "pod {name} was not scheduled within {}s: {message}",
                    timeout.as_secs()
                );
                (ex_id.clone(), reason)
            })
            .collect();
        let mut out = Vec::new();
        for (ex_id, reason) in expired {
            self.fatal(&ex_id, EventKind::Unschedulable { reason }, &mut out);
        }
        out
    }

    fn started(&mut self, ex_id: &str, role: Assignment, pod: &str, out: &mut Vec<BackendEvent>) {
        let track = self.executions.entry(ex_id.to_string()).or_default();
        match role {
            Assignment::ExecutionController => {
                track.controller_started = true;
                out.push(event(ex_id, EventKind::ControllerStarted));
                for worker_id in track.pending_workers.drain(..) {
                    out.push(event(ex_id, EventKind::WorkerStarted { worker_id }));
                }
            }
            Assignment::Worker if track.controller_started => {
                let worker_id = pod.to_string();
                out.push(event(ex_id, EventKind::WorkerStarted { worker_id }));
            }
            Assignment::Worker => track.pending_workers.push(pod.to_string()),
        }
    }

    fn fatal(&mut self, ex_id: &str, kind: EventKind, out: &mut Vec<BackendEvent>) {
        let track = self.executions.entry(ex_id.to_string()).or_default();
        if !track.fatal_sent && !track.stopping {
            track.fatal_sent = true;
            out.push(event(ex_id, kind));
        }
    }
}

fn exited(role: Assignment, pod: &Pod, code: Option<i32>, reason: String) -> EventKind {
    match role {
        Assignment::ExecutionController => EventKind::ControllerExited { code, reason },
        Assignment::Worker => EventKind::WorkerExited {
            worker_id: info::name(pod).to_string(),
            code,
            reason,
        },
    }
}

/// A container waiting for a reason that will not fix itself.
fn waiting_failure(pod: &Pod) -> Option<EventKind> {
    info::container_statuses(pod).find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        let detail = format!(
            "{reason}: container {} of pod {} (image {}){}",
            c.name,
            info::name(pod),
            c.image,
            waiting
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        if IMAGE_PULL_REASONS.contains(&reason) {
            Some(EventKind::ImagePullFailed { reason: detail })
        } else if START_FAILURE_REASONS.contains(&reason) {
            Some(EventKind::Unschedulable { reason: detail })
        } else if reason == "CrashLoopBackOff" {
            let detail = format!("{detail} (restarted {} times)", c.restart_count);
            Some(EventKind::CrashLooping { reason: detail })
        } else {
            None
        }
    })
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
