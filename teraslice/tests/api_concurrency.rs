//! Many clients at once: every submitted job is stored and runs.
mod api_support;

use api_support::{job, TestMaster};
use futures::future::join_all;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_submissions_are_all_stored_and_all_run() {
    let m = TestMaster::start("").await;
    let submissions = (0..200).map(|i| {
        let m = &m;
        async move { m.submit(&job(&format!("concurrent-{i}"))).await }
    });
    let ids = join_all(submissions).await;

    let (status, jobs) = m.get("/jobs?size=1000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jobs.as_array().unwrap().len(), 200);
    let mut job_ids: Vec<&str> = ids.iter().map(|(j, _)| j.as_str()).collect();
    job_ids.sort_unstable();
    job_ids.dedup();
    assert_eq!(job_ids.len(), 200, "every submission got its own job id");

    for (_, ex_id) in &ids {
        m.wait_status(ex_id, "running").await;
    }
    let (_, running) = m.get("/ex?status=running&size=1000").await;
    assert_eq!(running.as_array().unwrap().len(), 200);
}
