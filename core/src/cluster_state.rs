//! `/cluster/state` as Teraslice shows it: `{node_id: NodeState}`, each node with its slots and
//! the processes on it. On native, the master's own processes (`cluster_master`,
//! `assets_service`) are listed first in `active` and counted out of `available`, as Teraslice
//! shows them.
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::backend::Assignment;
use crate::execution::{TERASLICE_RS_VERSION, TERASLICE_VERSION};

/// `worker_id`: a number on native (Teraslice's cluster worker id), the pod name on Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WorkerId {
    Number(u64),
    Name(String),
}

impl From<&str> for WorkerId {
    fn from(name: &str) -> Self {
        WorkerId::Name(name.to_string())
    }
}

impl From<String> for WorkerId {
    fn from(name: String) -> Self {
        WorkerId::Name(name)
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerId::Number(n) => write!(f, "{n}"),
            WorkerId::Name(s) => f.write_str(s),
        }
    }
}

/// One process (native) or pod (Kubernetes) of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub worker_id: WorkerId,
    pub assignment: Assignment,
    pub ex_id: String,
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Asset ids, as in the execution record.
    #[serde(default)]
    pub assets: Vec<String>,
}

/// A process of the master itself: `cluster_master` or `assets_service` (native).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterProcess {
    pub worker_id: u64,
    pub assignment: String,
    pub pid: u32,
}

impl MasterProcess {
    /// The two processes Teraslice's native master runs, numbered 1 and 2 as its node master forks
    /// them first; here both are this process.
    pub fn of_this_master() -> Vec<MasterProcess> {
        let pid = std::process::id();
        ["cluster_master", "assets_service"]
            .iter()
            .zip(1..)
            .map(|(assignment, worker_id)| MasterProcess {
                worker_id,
                assignment: (*assignment).to_string(),
                pid,
            })
            .collect()
    }
}

/// A node of the cluster state. `total`/`available`/`pid` are `"N/A"` on Kubernetes.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    pub node_id: String,
    pub hostname: String,
    /// The node process's pid (native: the master's).
    pub pid: Option<u32>,
    pub total: Option<u32>,
    /// Slots not taken by execution processes (the master's processes are taken off when shown).
    pub available: Option<u32>,
    pub state: String,
    /// The execution processes on the node.
    pub active: Vec<ProcessInfo>,
    /// The master's own processes on this node (native), listed first in `active`.
    pub master: Vec<MasterProcess>,
}

impl NodeState {
    /// A connected node with no processes yet.
    pub fn connected(node_id: &str, total: Option<u32>, available: Option<u32>) -> Self {
        NodeState {
            node_id: node_id.to_string(),
            hostname: node_id.to_string(),
            pid: None,
            total,
            available,
            state: "connected".into(),
            active: Vec::new(),
            master: Vec::new(),
        }
    }
}

/// `Option<_>` as a number, or `"N/A"` (Teraslice's word where a count does not apply).
fn number_or_na<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or_else(|| Value::from("N/A"), Into::into)
}

impl Serialize for NodeState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Shown<'a> {
            Master(&'a MasterProcess),
            Execution(&'a ProcessInfo),
        }
        #[derive(Serialize)]
        struct Out<'a> {
            node_id: &'a str,
            hostname: &'a str,
            pid: Value,
            node_version: &'static str,
            teraslice_version: &'static str,
            teraslice_rs_version: &'static str,
            total: Value,
            state: &'a str,
            available: Value,
            active: Vec<Shown<'a>>,
        }
        let on_kubernetes = self.total.is_none();
        let version = |v| if on_kubernetes { "N/A" } else { v };
        let available = self
            .available
            .map(|a| i64::from(a) - self.master.len() as i64);
        let active = self
            .master
            .iter()
            .map(Shown::Master)
            .chain(self.active.iter().map(Shown::Execution))
            .collect();
        Out {
            node_id: &self.node_id,
            hostname: &self.hostname,
            pid: number_or_na(self.pid),
            node_version: "N/A",
            teraslice_version: version(TERASLICE_VERSION),
            teraslice_rs_version: TERASLICE_RS_VERSION,
            total: number_or_na(self.total),
            state: &self.state,
            available: number_or_na(available),
            active,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for NodeState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct In {
            node_id: String,
            hostname: String,
            #[serde(default)]
            pid: Value,
            #[serde(default)]
            total: Value,
            #[serde(default)]
            available: Value,
            state: String,
            #[serde(default)]
            active: Vec<Value>,
        }
        let i = In::deserialize(d)?;
        let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let mut active = Vec::new();
        let mut master = Vec::new();
        for p in i.active {
            if let Ok(info) = serde_json::from_value::<ProcessInfo>(p.clone()) {
                active.push(info);
            } else if let Ok(m) = serde_json::from_value::<MasterProcess>(p) {
                master.push(m);
            }
        }
        // `available` was shown with the master's processes taken off; add them back.
        let available = i
            .available
            .as_i64()
            .map(|a| u32::try_from(a + master.len() as i64).unwrap_or(0));
        Ok(NodeState {
            node_id: i.node_id,
            hostname: i.hostname,
            pid: count(&i.pid),
            total: count(&i.total),
            available,
            state: i.state,
            active,
            master,
        })
    }
}

/// `{ node_id: NodeState }`.
pub type ClusterState = BTreeMap<String, NodeState>;

/// Every process of `ex_id` in a cluster state.
pub fn processes_of<'a>(
    state: &'a ClusterState,
    ex_id: &'a str,
) -> impl Iterator<Item = &'a ProcessInfo> + 'a {
    state
        .values()
        .flat_map(|n| n.active.iter())
        .filter(move |p| p.ex_id == ex_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_processes_come_first_and_are_counted_out_of_available() {
        let mut node = NodeState::connected("host", Some(10), Some(8));
        node.pid = Some(42);
        node.master = MasterProcess::of_this_master();
        node.active.push(ProcessInfo {
            worker_id: WorkerId::Number(3),
            assignment: Assignment::ExecutionController,
            ex_id: "ex".into(),
            job_id: "job".into(),
            pid: Some(7),
            pod_name: None,
            pod_ip: None,
            image: None,
            assets: vec![],
        });
        let shown = serde_json::to_value(&node).unwrap();
        assert_eq!(shown["available"], 6);
        assert_eq!(shown["pid"], 42);
        assert_eq!(shown["teraslice_version"], TERASLICE_VERSION);
        assert_eq!(shown["active"][0]["assignment"], "cluster_master");
        assert_eq!(shown["active"][0]["worker_id"], 1);
        assert_eq!(shown["active"][1]["assignment"], "assets_service");
        assert_eq!(shown["active"][2]["worker_id"], 3);
        let back: NodeState = serde_json::from_value(shown).unwrap();
        assert_eq!(back, node);
    }

    #[test]
    fn kubernetes_nodes_say_na() {
        let shown = serde_json::to_value(NodeState::connected("10.0.0.1", None, None)).unwrap();
        for key in [
            "pid",
            "total",
            "available",
            "teraslice_version",
            "node_version",
        ] {
            assert_eq!(shown[key], "N/A", "{key}: {shown}");
        }
    }
}
