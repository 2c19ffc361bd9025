//! Execution statuses and the transition rules of Teraslice's `ExecutionStorage.verify`.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of Teraslice's 13 valid execution statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Pending,
    Scheduling,
    Initializing,
    Recovering,
    Running,
    Failing,
    Paused,
    Stopping,
    Completed,
    Stopped,
    Rejected,
    Failed,
    Terminated,
}

use ExecutionStatus::*;

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 13] = [
        Pending,
        Scheduling,
        Initializing,
        Recovering,
        Running,
        Failing,
        Paused,
        Stopping,
        Completed,
        Stopped,
        Rejected,
        Failed,
        Terminated,
    ];
    pub const INIT: [ExecutionStatus; 3] = [Pending, Scheduling, Initializing];
    pub const RUNNING: [ExecutionStatus; 5] = [Recovering, Running, Failing, Paused, Stopping];
    pub const TERMINAL: [ExecutionStatus; 5] = [Completed, Stopped, Rejected, Failed, Terminated];

    pub fn as_str(self) -> &'static str {
        match self {
            Pending => "pending",
            Scheduling => "scheduling",
            Initializing => "initializing",
            Recovering => "recovering",
            Running => "running",
            Failing => "failing",
            Paused => "paused",
            Stopping => "stopping",
            Completed => "completed",
            Stopped => "stopped",
            Rejected => "rejected",
            Failed => "failed",
            Terminated => "terminated",
        }
    }

    pub fn is_init(self) -> bool {
        Self::INIT.contains(&self)
    }
    pub fn is_running(self) -> bool {
        Self::RUNNING.contains(&self)
    }
    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
    /// INIT ∪ RUNNING: the execution still has (or will have) processes.
    pub fn is_living(self) -> bool {
        !self.is_terminal()
    }

    /// Teraslice's `verify(current, desired)`, applied in the same order, plus one rule of our
    /// own: a `stopping` execution only goes on to `stopped` or `completed`, so a controller or
    /// allocator that is still starting it cannot undo a user's stop (`running`, `failed`, …).
    pub fn check_transition(self, desired: ExecutionStatus) -> Result<(), InvalidTransition> {
        let allowed = if desired == self {
            true
        } else if self.is_running() && desired.is_init() {
            false
        } else if self == Stopped && desired == Completed {
            true
        } else if self == Stopping {
            matches!(desired, Stopped | Completed)
        } else {
            !self.is_terminal()
        };
        if allowed {
            Ok(())
        } else {
            Err(InvalidTransition {
                from: self,
                to: desired,
            })
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid execution status transition from {from} to {to}: {}", reason(*.from, *.to))]
pub struct InvalidTransition {
    pub from: ExecutionStatus,
    pub to: ExecutionStatus,
}

fn reason(from: ExecutionStatus, to: ExecutionStatus) -> &'static str {
    if from.is_terminal() {
        "the execution already ended (terminal status); only stopped -> completed is allowed"
    } else if from.is_running() && to.is_init() {
        "a running execution cannot go back to pending, scheduling or initializing"
    } else if from == Stopping {
        "the execution is being stopped; only stopping -> stopped or completed is allowed"
    } else {
        "not allowed"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown execution status \"{0}\": must be one of pending, scheduling, initializing, recovering, running, failing, paused, stopping, completed, stopped, rejected, failed, terminated")]
pub struct UnknownStatus(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_status_is_allowed() {
        for s in ExecutionStatus::ALL {
            assert!(s.check_transition(s).is_ok(), "{s} -> {s}");
        }
    }

    #[test]
    fn running_cannot_go_back_to_init() {
        for from in ExecutionStatus::RUNNING {
            for to in ExecutionStatus::INIT {
                assert_eq!(
                    from.check_transition(to),
                    Err(InvalidTransition { from, to })
                );
            }
        }
    }

    #[test]
    fn terminal_refuses_everything_but_stopped_to_completed() {
        for from in ExecutionStatus::TERMINAL {
            for to in ExecutionStatus::ALL {
                let ok = from == to || (from == Stopped && to == Completed);
                assert_eq!(from.check_transition(to).is_ok(), ok, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_stopping_execution_only_ends_stopped_or_completed() {
        for to in ExecutionStatus::ALL {
            let ok = matches!(to, Stopping | Stopped | Completed);
            assert_eq!(
                Stopping.check_transition(to).is_ok(),
                ok,
                "stopping -> {to}"
            );
        }
        let err = Stopping
            .check_transition(Running)
            .map_err(|e| e.to_string());
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("only stopping -> stopped or completed")),
            "{err:?}"
        );
        // Every other living status can still be stopped.
        for from in ExecutionStatus::ALL.into_iter().filter(|s| s.is_living()) {
            assert!(
                from.check_transition(Stopping).is_ok(),
                "{from} -> stopping"
            );
        }
    }

    #[test]
    fn forward_transitions_are_allowed() {
        let path = [
            Pending,
            Scheduling,
            Initializing,
            Running,
            Failing,
            Running,
            Paused,
            Running,
            Stopping,
            Stopped,
        ];
        for w in path.windows(2) {
            assert!(w[0].check_transition(w[1]).is_ok(), "{} -> {}", w[0], w[1]);
        }
        assert!(Initializing.check_transition(Failed).is_ok());
        assert!(Pending.check_transition(Failed).is_ok());
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ExecutionStatus::ALL {
            assert_eq!(s.as_str().parse::<ExecutionStatus>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("aborted".parse::<ExecutionStatus>().is_err());
    }
}
