//! `terafoundation.prom_metrics_*` and the job's overrides, resolved as Teraslice's
//! `PromMetrics.init` does.
use teraslice_core::config::TerafoundationConfig;
use teraslice_core::JobConfig;

/// Whether and where a process serves `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    pub enabled: bool,
    pub port: u16,
    /// Add the process metrics (CPU, memory, descriptors, start time).
    pub add_default: bool,
    /// `prom_metrics_display_url`: added as the `url` default label when not empty.
    pub display_url: String,
}

impl MetricsSettings {
    /// The master's: `terafoundation` alone.
    pub fn from_terafoundation(tf: &TerafoundationConfig) -> Self {
        MetricsSettings {
            enabled: tf.prom_metrics_enabled,
            port: tf.prom_metrics_port,
            add_default: tf.prom_metrics_add_default,
            display_url: tf.prom_metrics_display_url.clone(),
        }
    }

    /// An execution's (its EC and workers): the job's `prom_metrics_enabled`,
    /// `prom_metrics_port` and `prom_metrics_add_default` win when set.
    pub fn for_job(tf: &TerafoundationConfig, job: &JobConfig) -> Self {
        let mut s = Self::from_terafoundation(tf);
        s.enabled = job.prom_metrics_enabled.unwrap_or(s.enabled);
        s.port = job.prom_metrics_port.unwrap_or(s.port);
        s.add_default = job.prom_metrics_add_default.unwrap_or(s.add_default);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_settings_override_terafoundation_and_unset_ones_inherit() {
        let mut tf = TerafoundationConfig {
            prom_metrics_enabled: true,
            prom_metrics_port: 4000,
            ..TerafoundationConfig::default()
        };
        let mut job = teraslice_core::testing::sample_job("j", 1);
        assert_eq!(MetricsSettings::for_job(&tf, &job).port, 4000);
        job.prom_metrics_enabled = Some(false);
        job.prom_metrics_port = Some(4100);
        job.prom_metrics_add_default = Some(false);
        let s = MetricsSettings::for_job(&tf, &job);
        assert!(!s.enabled);
        assert_eq!(s.port, 4100);
        assert!(!s.add_default);
        tf.prom_metrics_enabled = false;
        job.prom_metrics_enabled = Some(true);
        assert!(MetricsSettings::for_job(&tf, &job).enabled);
    }
}
