//! `teraslice.command`: the command template and where its processes are reached.
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use teraslice_core::config::SystemConfig;

/// The backend's settings, from the `teraslice.command` section plus `teraslice.*` defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandConfig {
    /// The argv run for each process; each argument may hold `{program}`, `{subcommand}`
    /// (`execution-controller` or `worker`), `{ex_id}`, `{job_id}`, `{name}` (`ec`,
    /// `worker-<n>`) and `{config}` (the config file path).
    pub template: Vec<String>,
    /// `{program}`: the Teraslice build the processes run. Default: this executable.
    pub program: PathBuf,
    /// Where workers and the master reach execution controllers. Default `teraslice.hostname`,
    /// else `127.0.0.1`.
    pub hostname: String,
    /// Slicer ports handed out: `(start, end]` of `teraslice.slicer_port_range`.
    pub ports: (u16, u16),
    /// Most processes at once; `None`: no limit here (the scheduler behind the command has its
    /// own).
    pub slots: Option<u32>,
    /// `{config}` and env `TERAFOUNDATION_CONFIG`. Default: the master's config, written to
    /// `<work_dir>/config.json` at start.
    pub config_path: Option<PathBuf>,
    /// The master's config, written to `config_path` when that is not given.
    pub system_config: SystemConfig,
    /// Logs of the commands (`<work_dir>/<ex_id>/<name>.log`). Default
    /// `<teraslice.data_dir>/command`.
    pub work_dir: PathBuf,
    /// Grace period of a stop before SIGKILL. Default `teraslice.shutdown_timeout` + 3 s.
    pub stop_timeout: Duration,
}

/// A `teraslice.command` section that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CommandConfigError {
    /// The config has no `teraslice.command` section.
    #[error("teraslice.command: missing; cluster_manager_type command needs at least `template`, e.g. template: [sh, -c, 'exec \"$0\" \"$@\"', '{{program}}', '{{subcommand}}']")]
    Missing,
    /// The section is not valid; the message names the key.
    #[error("teraslice.command: {0}")]
    Invalid(String),
    #[error(
        "teraslice.command.program: not given, and this executable's path cannot be read: {0}"
    )]
    /// No `program` and the current executable's path is unknown.
    NoProgram(std::io::Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    template: Vec<String>,
    program: Option<PathBuf>,
    hostname: Option<String>,
    slots: Option<u32>,
    config: Option<PathBuf>,
    work_dir: Option<PathBuf>,
}

impl CommandConfig {
    /// Reads `teraslice.command` of `config`.
    pub fn from_system_config(config: &SystemConfig) -> Result<Self, CommandConfigError> {
        let raw = config
            .teraslice
            .backend_section()
            .ok_or(CommandConfigError::Missing)?;
        let section: Section = serde_json::from_value(raw.clone())
            .map_err(|e| CommandConfigError::Invalid(e.to_string()))?;
        if section.template.is_empty() {
            return Err(CommandConfigError::Invalid(
                "template: must be a non-empty list of arguments, the program first".into(),
            ));
        }
        if section.slots == Some(0) {
            return Err(CommandConfigError::Invalid(
                "slots: must be at least 2 (a controller and a worker), got 0".into(),
            ));
        }
        let program = match section.program {
            Some(p) => p,
            None => std::env::current_exe().map_err(CommandConfigError::NoProgram)?,
        };
        let ts = &config.teraslice;
        Ok(CommandConfig {
            template: section.template,
            program,
            hostname: section
                .hostname
                .or_else(|| ts.hostname.clone())
                .unwrap_or_else(|| "127.0.0.1".into()),
            ports: (
                ts.slicer_port_range.start.saturating_add(1),
                ts.slicer_port_range.end,
            ),
            slots: section.slots,
            config_path: section.config,
            system_config: config.clone(),
            work_dir: section
                .work_dir
                .unwrap_or_else(|| ts.data_dir.join("command")),
            stop_timeout: ts.shutdown_timeout() + Duration::from_secs(3),
        })
    }

    /// The config file the processes read.
    pub fn config_file(&self) -> PathBuf {
        self.config_path
            .clone()
            .unwrap_or_else(|| self.work_dir.join("config.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(section: &str) -> Result<CommandConfig, String> {
        let yaml = format!("teraslice:\n  cluster_manager_type: command\n  slicer_port_range: '47000:47010'\n  data_dir: /tmp/ts\n{section}");
        let config = SystemConfig::from_yaml_str(&yaml).map_err(|e| e.to_string())?;
        CommandConfig::from_system_config(&config).map_err(|e| e.to_string())
    }

    #[test]
    fn the_section_and_teraslice_defaults_make_the_config() {
        let cfg = parse("  command:\n    template: [srun, '{program}', '{subcommand}']\n    program: /opt/ts\n    slots: 8\n");
        let cfg = cfg.expect("valid");
        assert_eq!(cfg.template, ["srun", "{program}", "{subcommand}"]);
        assert_eq!(cfg.program, PathBuf::from("/opt/ts"));
        assert_eq!(cfg.ports, (47001, 47010));
        assert_eq!(cfg.slots, Some(8));
        assert_eq!(cfg.hostname, "127.0.0.1");
        assert_eq!(
            cfg.config_file(),
            PathBuf::from("/tmp/ts/command/config.json")
        );
    }

    #[test]
    fn bad_sections_name_the_field() {
        let missing = parse("").err().unwrap_or_default();
        assert!(
            missing.starts_with("teraslice.command: missing"),
            "{missing}"
        );
        let empty = parse("  command:\n    template: []\n")
            .err()
            .unwrap_or_default();
        assert!(
            empty.contains("template: must be a non-empty list"),
            "{empty}"
        );
        let typo = parse("  command:\n    template: [a]\n    progam: x\n")
            .err()
            .unwrap_or_default();
        assert!(typo.contains("unknown field `progam`"), "{typo}");
    }
}
