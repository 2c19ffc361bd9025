//! Where pods may run: job `targets`, `execution_controller_targets`, worker anti-affinity (§1.6).
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PreferredSchedulingTerm, Toleration,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use teraslice_core::job::{Target, TargetConstraint};

use super::labels::{APP, INSTANCE, NAME};

fn node_affinity(spec: &mut PodSpec) -> &mut NodeAffinity {
    spec.affinity
        .get_or_insert_with(Affinity::default)
        .node_affinity
        .get_or_insert_with(NodeAffinity::default)
}

fn match_in(key: &str, value: &str) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: "In".into(),
        values: Some(vec![value.into()]),
    }
}

/// Appends to the single required term: every required target must hold (AND).
fn require(spec: &mut PodSpec, key: &str, value: &str) {
    let required = node_affinity(spec)
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(NodeSelector::default);
    if required.node_selector_terms.is_empty() {
        required
            .node_selector_terms
            .push(NodeSelectorTerm::default());
    }
    if let Some(term) = required.node_selector_terms.first_mut() {
        term.match_expressions
            .get_or_insert_with(Vec::new)
            .push(match_in(key, value));
    }
}

fn prefer(spec: &mut PodSpec, key: &str, value: &str) {
    node_affinity(spec)
        .preferred_during_scheduling_ignored_during_execution
        .get_or_insert_with(Vec::new)
        .push(PreferredSchedulingTerm {
            weight: 1,
            preference: NodeSelectorTerm {
                match_expressions: Some(vec![match_in(key, value)]),
                match_fields: None,
            },
        });
}

fn tolerate(spec: &mut PodSpec, key: &str, value: &str) {
    spec.tolerations
        .get_or_insert_with(Vec::new)
        .push(Toleration {
            key: Some(key.into()),
            operator: Some("Equal".into()),
            value: Some(value.into()),
            effect: Some("NoSchedule".into()),
            toleration_seconds: None,
        });
}

/// Job `targets`: required → node affinity term, preferred → weight-1 preference,
/// accepted → NoSchedule toleration.
pub fn set_targets(spec: &mut PodSpec, targets: &[Target]) {
    for t in targets {
        match t.constraint.unwrap_or(TargetConstraint::Required) {
            TargetConstraint::Required => require(spec, &t.key, &t.value),
            TargetConstraint::Preferred => prefer(spec, &t.key, &t.value),
            TargetConstraint::Accepted => tolerate(spec, &t.key, &t.value),
        }
    }
}

/// `execution_controller_targets`: both required and tolerated; any `constraint` is ignored.
pub fn set_execution_controller_targets(spec: &mut PodSpec, targets: &[Target]) {
    for t in targets {
        require(spec, &t.key, &t.value);
        tolerate(spec, &t.key, &t.value);
    }
}

/// Spread this cluster's workers over hosts when the scheduler can.
pub fn set_worker_antiaffinity(spec: &mut PodSpec, cluster_label: &str) {
    let expr = |key: &str, value: &str| LabelSelectorRequirement {
        key: key.into(),
        operator: "In".into(),
        values: Some(vec![value.into()]),
    };
    spec.affinity
        .get_or_insert_with(Affinity::default)
        .pod_anti_affinity
        .get_or_insert_with(PodAntiAffinity::default)
        .preferred_during_scheduling_ignored_during_execution
        .get_or_insert_with(Vec::new)
        .push(WeightedPodAffinityTerm {
            weight: 1,
            pod_affinity_term: PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_expressions: Some(vec![expr(NAME, APP), expr(INSTANCE, cluster_label)]),
                    match_labels: None,
                }),
                topology_key: "kubernetes.io/hostname".into(),
                ..Default::default()
            },
        });
}
