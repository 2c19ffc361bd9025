//! `NativeConfig`: where the native backend finds its program and how much it may run.
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Teraslice `shutdown_timeout` (60 s) plus the 3 s the node master adds before SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_millis(60_000 + 3_000);

/// A bad native backend setting; names the field, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("teraslice.slicer_port_range `{value}`: {reason}; expected \"start:end\" with 0 < start < end <= 65535, e.g. \"45679:46678\"")]
    PortRange { value: String, reason: String },
    #[error("teraslice.workers (native slots) is {0}: at least 2 are needed, one for an execution controller and one for a worker")]
    Slots(usize),
    #[error("native backend program: cannot find the running executable: {0}")]
    CurrentExe(String),
}

/// `teraslice.slicer_port_range`: execution controllers listen on ports in `(start, end]`
/// (Teraslice keeps `start` for the assets service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange {
            start: 45679,
            end: 46678,
        }
    }
}

impl PortRange {
    /// The ports an execution controller may get, in order.
    pub fn slicer_ports(&self) -> std::ops::RangeInclusive<u16> {
        self.start.saturating_add(1)..=self.end
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.start, self.end)
    }
}

impl FromStr for PortRange {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ConfigError::PortRange {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let (a, b) = s.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let start: u16 = a
            .trim()
            .parse()
            .map_err(|_| bad("start is not a port number"))?;
        let end: u16 = b
            .trim()
            .parse()
            .map_err(|_| bad("end is not a port number"))?;
        if start == 0 || start >= end {
            return Err(bad("start must be above 0 and below end"));
        }
        Ok(PortRange { start, end })
    }
}

/// Settings of [`crate::NativeBackend`] (until core's `SystemConfig` carries them).
#[derive(Debug, Clone, PartialEq)]
pub struct NativeConfig {
    /// The program run as `<program> <args_prefix…> execution-controller|worker`.
    pub program: PathBuf,
    /// Arguments before the subcommand (tests run `/bin/sh -c <script>`).
    pub args_prefix: Vec<String>,
    /// Passed to children as `TERAFOUNDATION_CONFIG`.
    pub config_path: Option<PathBuf>,
    /// Processes this node runs at once (`teraslice.workers`); an EC or a worker takes one.
    pub slots: usize,
    /// This node's id and the `slicer_hostname` workers use to reach their EC.
    pub hostname: String,
    pub slicer_port_range: PortRange,
    /// Each process's stdout and stderr go to `<log_dir>/<ex_id>/<ec|worker-N>.log`.
    pub log_dir: PathBuf,
    /// Grace between SIGTERM and SIGKILL when a stop names no timeout.
    pub stop_timeout: Duration,
}

impl NativeConfig {
    /// Defaults for running `program`: CPU-count slots, `127.0.0.1`, ports `45679:46678`.
    pub fn for_program(program: impl Into<PathBuf>) -> Self {
        NativeConfig {
            program: program.into(),
            args_prefix: Vec::new(),
            config_path: None,
            slots: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hostname: "127.0.0.1".to_string(),
            slicer_port_range: PortRange::default(),
            log_dir: PathBuf::from("logs"),
            stop_timeout: DEFAULT_STOP_TIMEOUT,
        }
    }

    /// Defaults for running this very binary (`teraslice execution-controller|worker`).
    pub fn from_current_exe() -> Result<Self, ConfigError> {
        let exe = std::env::current_exe().map_err(|e| ConfigError::CurrentExe(e.to_string()))?;
        Ok(Self::for_program(exe))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.slots < 2 {
            return Err(ConfigError::Slots(self.slots));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_parses_teraslice_format_and_excludes_start() {
        let r: PortRange = "45679:46678".parse().unwrap();
        assert_eq!(r, PortRange::default());
        assert_eq!(r.slicer_ports().next(), Some(45680));
        assert_eq!(r.slicer_ports().last(), Some(46678));
    }

    #[test]
    fn port_range_errors_name_value_and_format() {
        for bad in ["45679", "a:b", "500:400", "0:10", "1:70000"] {
            let err = bad.parse::<PortRange>().unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
            assert!(err.contains("start:end"), "{err}");
        }
    }

    #[test]
    fn fewer_than_two_slots_is_refused() {
        let mut cfg = NativeConfig::for_program("/bin/true");
        cfg.slots = 1;
        assert_eq!(cfg.validate(), Err(ConfigError::Slots(1)));
        cfg.slots = 2;
        assert_eq!(cfg.validate(), Ok(()));
    }
}
