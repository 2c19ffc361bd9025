//! Object names and label values derived from the cluster and job names (teraslice-k8s.md §1.1).

/// The EC port: fixed on Kubernetes, the Service and every pod expose it.
pub const EC_PORT: u16 = 45680;
/// Where the ConfigMap is mounted; the image's `TERAFOUNDATION_CONFIG` points into it.
pub const CONFIG_DIR: &str = "/app/config";
pub const CONFIG_FILE_KEY: &str = "teraslice.yaml";

/// `app.kubernetes.io/instance`: every char outside `[a-zA-Z0-9_.-]` becomes `_`, cut to 63.
pub fn cluster_name_label(cluster_name: &str) -> String {
    cluster_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect()
}

/// `teraslice.terascope.io/jobName`: lowercase, `[a-z0-9.-]` only, starts with a letter and ends
/// with a letter or digit (replacing, not prefixing), cut to 63.
pub fn job_name_label(job_name: &str) -> String {
    let mut chars: Vec<char> = job_name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if chars.is_empty() {
        chars.push('a');
    }
    if let Some(first) = chars.first_mut() {
        if !first.is_ascii_lowercase() {
            *first = 'a';
        }
    }
    if let Some(last) = chars.last_mut() {
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            *last = '0';
        }
    }
    chars.into_iter().take(63).collect()
}

/// Which object of an execution a name is for (`exc` = execution controller, `wkr` = workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameInfix {
    Controller,
    Workers,
}

/// `ts-<exc|wkr>-<jobName[0..35]>-<job_id[0..13]>` (at most 56 characters).
///
/// Unlike Teraslice, a `.` in the job name becomes `-` and a `-` left at the end of the 35-char
/// cut is dropped, so the name is always a valid DNS-1035 label (Service, container name).
pub fn object_name(infix: NameInfix, job_name: &str, job_id: &str) -> String {
    let infix = match infix {
        NameInfix::Controller => "exc",
        NameInfix::Workers => "wkr",
    };
    let label: String = job_name_label(job_name)
        .chars()
        .take(35)
        .map(|c| if c == '.' { '-' } else { c })
        .collect();
    let label = label.trim_end_matches('-');
    let id: String = job_id.chars().take(13).collect();
    let id = id.trim_end_matches('-');
    format!("ts-{infix}-{label}-{id}")
}

/// The execution controller's Service: `svc-` + the EC Job name.
pub fn service_name(job_name: &str, job_id: &str) -> String {
    format!(
        "svc-{}",
        object_name(NameInfix::Controller, job_name, job_id)
    )
}

/// A user label key suffix or value: chars outside `[a-zA-Z0-9._-]` become `-`, cut to 63, the
/// ends trimmed to a letter or digit (see docs/compat.md).
pub use teraslice_core::job::validate::sanitize_label_part;

#[cfg(test)]
mod tests {
    use super::*;

    const JOB_ID: &str = "7ba9afb0-417a-4936-adc5-b15e31d1edd1";

    #[test]
    fn worker_names_follow_teraslice_examples() {
        for (job, want) in [
            ("aa", "ts-wkr-aa-7ba9afb0-417a"),
            ("00", "ts-wkr-a0-7ba9afb0-417a"),
            ("a", "ts-wkr-a-7ba9afb0-417a"),
            ("0", "ts-wkr-a-7ba9afb0-417a"),
            ("-job-", "ts-wkr-ajob0-7ba9afb0-417a"),
            ("-JOB-", "ts-wkr-ajob0-7ba9afb0-417a"),
            (
                "teraslice-JOB-name",
                "ts-wkr-teraslice-job-name-7ba9afb0-417a",
            ),
            (
                "example-data-generator-job",
                "ts-wkr-example-data-generator-job-7ba9afb0-417a",
            ),
        ] {
            assert_eq!(object_name(NameInfix::Workers, job, JOB_ID), want, "{job}");
        }
    }

    #[test]
    fn long_and_dotted_job_names_still_give_valid_service_names() {
        let name = service_name(
            "a.very.long.job.name-that-goes-on-and-on-and-on-forever",
            JOB_ID,
        );
        assert_eq!(
            name,
            "svc-ts-exc-a-very-long-job-name-that-goes-on-a-7ba9afb0-417a"
        );
        assert!(name.len() <= 63);
        // A cut that ends on '-' does not leave "--" before the job id.
        let cut = object_name(NameInfix::Workers, &format!("{}-b", "a".repeat(34)), JOB_ID);
        assert_eq!(cut, format!("ts-wkr-{}-7ba9afb0-417a", "a".repeat(34)));
    }

    #[test]
    fn cluster_name_label_replaces_and_cuts() {
        assert_eq!(cluster_name_label("ts dev#1"), "ts_dev_1");
        assert_eq!(cluster_name_label(&"x".repeat(70)).len(), 63);
    }

    #[test]
    fn user_label_parts_are_sanitized() {
        assert_eq!(sanitize_label_part("key 1"), "key-1");
        // Teraslice gives `key2-`, which Kubernetes refuses; the end is trimmed.
        assert_eq!(sanitize_label_part("key2%"), "key2");
        assert_eq!(sanitize_label_part(&"k".repeat(64)).len(), 63);
    }
}
