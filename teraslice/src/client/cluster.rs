//! `teraslice cluster state|nodes|workers`.
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::print;
use super::{ApiClient, ClientOpts};

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// The raw cluster state.
    State,
    /// One row per node with its slots and process count.
    Nodes,
    /// One row per execution controller or worker.
    Workers,
}

pub async fn run(api: &ApiClient, opts: &ClientOpts, cmd: ClusterCommand) -> anyhow::Result<()> {
    let state = api.get("/cluster/state").await?;
    let nodes: Vec<&Value> = state
        .as_object()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    match cmd {
        ClusterCommand::State => println!("{}", serde_json::to_string_pretty(&state)?),
        ClusterCommand::Nodes => {
            let rows: Vec<Value> = nodes
                .iter()
                .map(|n| {
                    let active = n.get("active").and_then(Value::as_array).map_or(0, Vec::len);
                    json!({"node_id": n.get("node_id"), "state": n.get("state"), "hostname": n.get("hostname"),
                           "total": n.get("total"), "available": n.get("available"), "active": active})
                })
                .collect();
            print(
                opts.json,
                &Value::Array(rows),
                &[
                    "node_id",
                    "state",
                    "hostname",
                    "total",
                    "available",
                    "active",
                ],
            );
        }
        ClusterCommand::Workers => {
            let rows: Vec<Value> = nodes
                .iter()
                .flat_map(|n| {
                    let node_id = n.get("node_id").cloned().unwrap_or(Value::Null);
                    let procs = n
                        .get("active")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    procs.into_iter().map(move |mut p| {
                        if let Some(obj) = p.as_object_mut() {
                            obj.insert("node_id".into(), node_id.clone());
                        }
                        p
                    })
                })
                .collect();
            let columns = [
                "assignment",
                "job_id",
                "ex_id",
                "node_id",
                "worker_id",
                "pid",
                "pod_name",
            ];
            print(opts.json, &Value::Array(rows), &columns);
        }
    }
    Ok(())
}
