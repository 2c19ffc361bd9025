//! Prometheus scrapes for the metrics tests: the text of `/metrics` parsed with
//! `prometheus-parse`, and the native backend's file-SD targets.
use std::collections::HashMap;
use std::path::Path;

use prometheus_parse::{Sample, Scrape, Value as PromValue};
use serde_json::Value;

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A parsed scrape: every sample, by name.
pub struct Metrics {
    pub samples: Vec<Sample>,
    pub text: String,
}

impl Metrics {
    pub fn all(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.metric == name).collect()
    }

    pub fn value(&self, name: &str) -> Option<f64> {
        self.all(name).first().map(|s| match &s.value {
            PromValue::Counter(v) | PromValue::Gauge(v) | PromValue::Untyped(v) => *v,
            other => panic!("{name} is not a single value: {other:?}"),
        })
    }
}

pub async fn scrape(http: &reqwest::Client, target: &str) -> Option<Metrics> {
    let resp = http
        .get(format!("http://{target}/metrics"))
        .send()
        .await
        .ok()?;
    assert!(
        resp.status().is_success(),
        "GET {target}/metrics: {}",
        resp.status()
    );
    let kind = resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        kind.starts_with("text/plain; version=0.0.4"),
        "content type {kind}"
    );
    let text = resp.text().await.ok()?;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let labels = line.split_once('{').map_or("", |(_, rest)| rest);
        let mut names: Vec<&str> = labels
            .split(',')
            .filter_map(|kv| kv.split_once("=\"").map(|(k, _)| k))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a label given twice: {line}");
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    Some(Metrics {
        samples: scrape.samples,
        text,
    })
}

/// `assignment` → target address, from the file-SD files of execution `ex_id`.
pub fn targets(dir: &Path, ex_id: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let group = &body[0];
        if group["labels"]["ex_id"] == ex_id {
            found.insert(
                group["labels"]["assignment"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                group["targets"][0].as_str().unwrap_or_default().to_string(),
            );
        }
    }
    found
}
