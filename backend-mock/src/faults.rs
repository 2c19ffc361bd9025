//! Scripted faults, changeable while the backend runs.
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Every controller allocation fails with this message.
    pub allocation_error: Option<String>,
    /// Controllers exit with code 1 this long after they start.
    pub controller_exits_after: Option<Duration>,
    /// Workers are placed but never become ready (never shown, never reported started).
    pub workers_never_ready: bool,
    /// Every call fails as if the cluster could not be reached.
    pub unreachable: bool,
}
