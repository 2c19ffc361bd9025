//! Slot accounting over the simulated nodes.
use teraslice_core::backend::Assignment;

#[derive(Debug, Clone)]
pub struct Proc {
    pub worker_id: String,
    pub assignment: Assignment,
    pub node: usize,
    /// False while a worker is placed but not ready (fault `workers_never_ready`).
    pub ready: bool,
}

#[derive(Debug)]
pub struct Nodes {
    pub used: Vec<usize>,
    pub slots_per_node: usize,
}

impl Nodes {
    pub fn new(nodes: usize, slots_per_node: usize) -> Self {
        Nodes {
            used: vec![0; nodes],
            slots_per_node,
        }
    }
    pub fn free(&self) -> usize {
        self.used.iter().map(|u| self.slots_per_node - u).sum()
    }
    pub fn total(&self) -> usize {
        self.used.len() * self.slots_per_node
    }
    /// Takes a slot on the least-loaded node.
    pub fn take(&mut self) -> Option<usize> {
        let (node, _) = self
            .used
            .iter()
            .enumerate()
            .filter(|(_, u)| **u < self.slots_per_node)
            .min_by_key(|(_, u)| **u)?;
        self.used[node] += 1;
        Some(node)
    }
    pub fn release(&mut self, node: usize) {
        if let Some(u) = self.used.get_mut(node) {
            *u = u.saturating_sub(1);
        }
    }
}
