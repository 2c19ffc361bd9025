//! Backend errors: each names the Kubernetes object, what went wrong and what is allowed.
use teraslice_core::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("{key}: {problem}")]
    Config { key: String, problem: String },
    #[error("cannot build a Kubernetes client: {0}; run inside a pod with a ServiceAccount, or set KUBECONFIG")]
    Client(String),
    #[error("execution {ex_id}: {problem}")]
    Manifest { ex_id: String, problem: String },
    #[error("{verb} {kind} {name} in namespace {namespace} failed: {source}")]
    Api {
        verb: &'static str,
        kind: &'static str,
        name: String,
        namespace: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{kind} {name} in namespace {namespace} already exists and belongs to execution {owner}, not {ex_id}; stop that execution or wait until Kubernetes deletes it")]
    OwnedByOther {
        kind: &'static str,
        name: String,
        namespace: String,
        owner: String,
        ex_id: String,
    },
    #[error("{kind} {name} in namespace {namespace} has no {field}; Kubernetes returned an incomplete object")]
    Incomplete {
        kind: &'static str,
        name: String,
        namespace: String,
        field: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("ConfigMap {name} does not exist in namespace {namespace}: the execution's pods mount it as their teraslice.yaml (teraslice.kubernetes_config_map_name, default `<teraslice.name>-worker`); create it or set teraslice.kubernetes_config_map_name to one that exists")]
    MissingConfigMap { name: String, namespace: String },
    #[error("execution {ex_id} has no {what} in namespace {namespace}")]
    Missing {
        ex_id: String,
        what: String,
        namespace: String,
    },
}

/// HTTP status of an API error, if the server answered.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

impl From<K8sError> for BackendError {
    fn from(e: K8sError) -> Self {
        let msg = e.to_string();
        match &e {
            K8sError::Config { .. } | K8sError::Manifest { .. } | K8sError::Invalid(_) => {
                BackendError::InvalidRequest(msg)
            }
            K8sError::Client(_) => BackendError::Unreachable(msg),
            K8sError::OwnedByOther { .. } => BackendError::Conflict(msg),
            K8sError::Missing { ex_id, .. } => BackendError::UnknownExecution(ex_id.clone()),
            K8sError::Incomplete { .. } | K8sError::MissingConfigMap { .. } => {
                BackendError::Allocation(msg)
            }
            K8sError::Api { source, .. } => match api_code(source) {
                Some(409) => BackendError::Conflict(msg),
                Some(400 | 422) => BackendError::InvalidRequest(msg),
                Some(403) => BackendError::Allocation(format!(
                    "{msg} (the ServiceAccount needs the Role of docs/kubernetes.md in this namespace)"
                )),
                Some(c) if c < 500 && c != 429 => BackendError::Allocation(msg),
                _ => BackendError::Unreachable(msg),
            },
        }
    }
}
