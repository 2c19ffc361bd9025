//! What a job may ask for beyond its schema (docs/security.md): at most
//! `teraslice.max_workers_per_job` workers and `teraslice.max_slicers_per_job` slicers, and on
//! Kubernetes only an image `teraslice.kubernetes_allowed_images` allows (by default only
//! `teraslice.kubernetes_image`). Refusals are validation errors naming the field.
use teraslice_core::config::{image_allowed_by, ClusterManagerType, SystemConfig};
use teraslice_core::job::{ValidationError, ValidationErrors};
use teraslice_core::JobConfig;

#[derive(Debug, Clone)]
pub struct JobPolicy {
    max_workers: u32,
    max_slicers: u32,
    /// `None` off Kubernetes, where `kubernetes_image` is not used.
    images: Option<ImagePolicy>,
}

#[derive(Debug, Clone)]
struct ImagePolicy {
    /// `teraslice.kubernetes_allowed_images`, or just `teraslice.kubernetes_image`.
    allowed: Vec<String>,
    configured: bool,
}

impl JobPolicy {
    pub fn from_config(config: &SystemConfig) -> Self {
        let ts = &config.teraslice;
        let sec = &ts.security;
        let images =
            (ts.cluster_manager_type == ClusterManagerType::KUBERNETES).then(|| {
                match &sec.kubernetes_allowed_images {
                    Some(list) => ImagePolicy {
                        allowed: list.clone(),
                        configured: true,
                    },
                    None => ImagePolicy {
                        allowed: ts.kubernetes_image.iter().cloned().collect(),
                        configured: false,
                    },
                }
            });
        JobPolicy {
            max_workers: sec.max_workers_per_job,
            max_slicers: sec.max_slicers_per_job,
            images,
        }
    }

    /// Every way `job` goes beyond the policy.
    pub fn check(&self, job: &JobConfig) -> Result<(), ValidationErrors> {
        let mut problems = Vec::new();
        if let Err(e) = self.check_workers("workers", u64::from(job.workers)) {
            problems.push(e);
        }
        if job.slicers > self.max_slicers {
            problems.push(ValidationError {
                path: "slicers".into(),
                message: format!(
                    "{} slicers is more than teraslice.max_slicers_per_job allows ({})",
                    job.slicers, self.max_slicers
                ),
            });
        }
        if let Some(image) = job.kubernetes_image.as_deref().filter(|i| !i.is_empty()) {
            if let Some(e) = self.refuse_image(image) {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(problems))
        }
    }

    /// `n` workers for one execution (`field` names where `n` came from).
    pub fn check_workers(&self, field: &str, n: u64) -> Result<(), ValidationError> {
        if n <= u64::from(self.max_workers) {
            return Ok(());
        }
        Err(ValidationError {
            path: field.into(),
            message: format!(
                "{n} workers is more than teraslice.max_workers_per_job allows ({})",
                self.max_workers
            ),
        })
    }

    fn refuse_image(&self, image: &str) -> Option<ValidationError> {
        let policy = self.images.as_ref()?;
        if policy
            .allowed
            .iter()
            .any(|entry| image_allowed_by(entry, image))
        {
            return None;
        }
        let allowed = if policy.allowed.is_empty() {
            "none".to_string()
        } else {
            policy.allowed.join(", ")
        };
        let setting = if policy.configured {
            format!("teraslice.kubernetes_allowed_images allows only: {allowed}")
        } else {
            format!("without teraslice.kubernetes_allowed_images only teraslice.kubernetes_image ({allowed}) may run; add the image there (or \"*\" for any)")
        };
        Some(ValidationError {
            path: "kubernetes_image".into(),
            message: format!("image \"{image}\" is not allowed: {setting}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use teraslice_core::job::validate_job;

    fn config(extra: serde_json::Value) -> SystemConfig {
        let mut ts = json!({"cluster_manager_type": "kubernetes", "kubernetes_image": "teraslice:1",
            "state": {"connection_type": "elasticsearch-next"}});
        for (k, v) in extra.as_object().expect("object") {
            ts[k] = v.clone();
        }
        let doc = json!({
            "terafoundation": {"connectors": {"elasticsearch-next": {"default": {"node": ["http://es:9200"]}}}},
            "teraslice": ts,
        });
        SystemConfig::from_value(&doc).expect("config")
    }

    fn job(extra: serde_json::Value) -> JobConfig {
        let mut spec =
            json!({"name": "j", "operations": [{"_op": "test-reader"}, {"_op": "noop"}]});
        for (k, v) in extra.as_object().expect("object") {
            spec[k] = v.clone();
        }
        let ctx = SystemConfig::default().validation_context(None);
        validate_job(&spec, &ctx).expect("valid job")
    }

    fn refusal(policy: &JobPolicy, j: &JobConfig) -> String {
        policy.check(j).expect_err("refused").to_string()
    }

    #[test]
    fn by_default_a_job_may_only_run_the_configured_image() {
        let p = JobPolicy::from_config(&config(json!({})));
        assert!(p.check(&job(json!({}))).is_ok());
        assert!(p
            .check(&job(json!({"kubernetes_image": "teraslice:1"})))
            .is_ok());
        let msg = refusal(&p, &job(json!({"kubernetes_image": "evil:latest"})));
        assert!(
            msg.contains("kubernetes_image") && msg.contains("evil:latest"),
            "{msg}"
        );
        assert!(msg.contains("teraslice.kubernetes_allowed_images"), "{msg}");
    }

    #[test]
    fn allowed_images_take_exact_names_prefixes_and_the_wildcard() {
        let p = JobPolicy::from_config(&config(
            json!({"kubernetes_allowed_images": ["reg.example.com/team/", "teraslice:*"]}),
        ));
        assert!(p
            .check(&job(
                json!({"kubernetes_image": "reg.example.com/team/ts:2"})
            ))
            .is_ok());
        assert!(p
            .check(&job(json!({"kubernetes_image": "teraslice:2"})))
            .is_ok());
        let msg = refusal(
            &p,
            &job(json!({"kubernetes_image": "reg.example.com/other/ts:2"})),
        );
        assert!(
            msg.contains("allows only: reg.example.com/team/, teraslice:*"),
            "{msg}"
        );
        let any = JobPolicy::from_config(&config(json!({"kubernetes_allowed_images": ["*"]})));
        assert!(any
            .check(&job(json!({"kubernetes_image": "anything:9"})))
            .is_ok());
    }

    #[test]
    fn images_are_not_checked_off_kubernetes() {
        let p = JobPolicy::from_config(&SystemConfig::default());
        assert!(p
            .check(&job(json!({"kubernetes_image": "evil:latest"})))
            .is_ok());
    }

    #[test]
    fn workers_and_slicers_are_bounded() {
        let p = JobPolicy::from_config(&config(
            json!({"max_workers_per_job": 4, "max_slicers_per_job": 2}),
        ));
        assert!(p.check(&job(json!({"workers": 4, "slicers": 2}))).is_ok());
        let msg = refusal(&p, &job(json!({"workers": 5, "slicers": 3})));
        assert!(
            msg.contains(
                "workers: 5 workers is more than teraslice.max_workers_per_job allows (4)"
            ),
            "{msg}"
        );
        assert!(
            msg.contains(
                "slicers: 3 slicers is more than teraslice.max_slicers_per_job allows (2)"
            ),
            "{msg}"
        );
    }
}
