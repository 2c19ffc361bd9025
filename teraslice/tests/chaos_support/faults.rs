//! The faults a chaos run injects into a native master's processes and its SQLite file, and the
//! seeded generator that picks them.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// splitmix64: a seeded, dependency-free generator (the same seed replays the same choices).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo)
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.range(0, items.len() as u64) as usize)
        }
    }
}

/// What the run can do to the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL to a worker.
    KillWorker,
    /// SIGKILL to an execution controller (its execution fails; the run recovers it).
    KillController,
    /// SIGKILL to the master, then a new master on the same store.
    KillMaster,
    /// The SQLite file and its WAL made immutable (`chattr +i`) for a few seconds: every write
    /// fails with an I/O error.
    StoreReadOnly,
    /// SIGSTOP a worker for a few seconds, then SIGCONT: its connection to the EC stays open and
    /// silent, as through a relay that stops forwarding without closing.
    FreezeWorker,
    /// The same for an execution controller: its workers' connections go silent.
    FreezeController,
    /// A worker's relay to its controller stops forwarding, without closing, for a few seconds:
    /// both processes run on, the connection is dead (it stays dead after; new ones work).
    BlackholeWorker,
    /// The same for every worker of one controller.
    BlackholeController,
    /// A new `once` job starts (so executions also start in the middle of faults).
    SubmitJob,
}

/// Relative weights of the faults.
pub const WEIGHTS: &[(Fault, u64)] = &[
    (Fault::KillWorker, 25),
    (Fault::KillController, 8),
    (Fault::KillMaster, 6),
    (Fault::StoreReadOnly, 10),
    (Fault::FreezeWorker, 14),
    (Fault::FreezeController, 6),
    (Fault::BlackholeWorker, 10),
    (Fault::BlackholeController, 5),
    (Fault::SubmitJob, 14),
];

pub fn pick_fault(rng: &mut Rng) -> Fault {
    let total: u64 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut at = rng.range(0, total);
    for (fault, weight) in WEIGHTS {
        if at < *weight {
            return *fault;
        }
        at -= weight;
    }
    Fault::SubmitJob
}

/// How often each fault was injected (a fault that found no target is not counted).
#[derive(Debug, Default)]
pub struct Tally(pub BTreeMap<String, u64>);

impl Tally {
    pub fn add(&mut self, fault: Fault) {
        *self.0.entry(format!("{fault:?}")).or_default() += 1;
    }

    pub fn get(&self, fault: Fault) -> u64 {
        self.0.get(&format!("{fault:?}")).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

pub fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `chattr ±i` on the SQLite file and its WAL; undone by [`StoreLock::release`] or on drop, so
/// a failing test does not leave an undeletable file behind.
pub struct StoreLock {
    files: Vec<PathBuf>,
}

impl StoreLock {
    pub fn engage(data_dir: &Path) -> StoreLock {
        let files: Vec<PathBuf> = ["teraslice.sqlite", "teraslice.sqlite-wal"]
            .iter()
            .map(|f| data_dir.join(f))
            .filter(|p| p.exists())
            .collect();
        for f in &files {
            let done = Command::new("chattr").arg("+i").arg(f).status();
            assert!(
                done.is_ok_and(|s| s.success()),
                "chattr +i {} (the chaos run needs chattr and a filesystem with the immutable flag)",
                f.display()
            );
        }
        StoreLock { files }
    }

    pub fn release(mut self) {
        self.undo();
    }

    fn undo(&mut self) {
        for f in self.files.drain(..) {
            let _ = Command::new("chattr").arg("-i").arg(&f).status();
        }
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        self.undo();
    }
}
