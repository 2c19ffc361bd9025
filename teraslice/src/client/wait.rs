//! `jobs wait`: a progress bar until the execution ends; non-zero exit unless it completed.
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::ApiClient;

const TERMINAL: [&str; 5] = ["completed", "stopped", "rejected", "failed", "terminated"];

pub async fn until_done(api: &ApiClient, job_id: &str) -> anyhow::Result<()> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    loop {
        let ex = api.get(&format!("/jobs/{job_id}/ex")).await?;
        let status = ex
            .get("_status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        let ex_id = ex
            .get("ex_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let processed = match api.get(&format!("/ex/{ex_id}/controller")).await {
            Ok(Value::Array(stats)) => stats
                .first()
                .and_then(|s| s.get("processed"))
                .and_then(Value::as_u64),
            _ => None,
        };
        let progress = processed
            .map(|p| format!(", {p} slices processed"))
            .unwrap_or_default();
        bar.set_message(format!("{ex_id} {status}{progress}"));
        if TERMINAL.contains(&status.as_str()) {
            bar.finish_with_message(format!("{ex_id} {status}{progress}"));
            if status == "completed" {
                return Ok(());
            }
            let reason = ex
                .get("_failureReason")
                .and_then(Value::as_str)
                .unwrap_or_default();
            anyhow::bail!("execution {ex_id} ended {status}: {reason}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
