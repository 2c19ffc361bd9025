//! The backend needs nothing beyond the guide's namespace-scoped Role for the namespace's
//! `default` ServiceAccount, nor beyond the narrowest Role docs/kubernetes.md lists.
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, PostParams};
use kube::config::AuthInfo;
use kube::Client;
use serde_json::json;
use teraslice_core::backend::{processes_of, StopOptions};
use teraslice_core::ClusterBackend;

use super::support::*;

/// examples/k8s/role.yaml and roleBinding.yaml.
fn guide_rules() -> serde_json::Value {
    json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
}

/// The narrowest Role of docs/kubernetes.md ("Permissions").
fn narrowest_rules() -> serde_json::Value {
    json!([
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "deletecollection"]},
        {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "get", "deletecollection"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "deletecollection"]},
        {"apiGroups": ["apps"], "resources": ["deployments"],
         "verbs": ["create", "get", "list", "patch", "deletecollection"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["deletecollection"]},
    ])
}

/// A Role of `rules` bound to `namespace`'s default ServiceAccount.
async fn grant_role(admin: &Client, namespace: &str, rules: serde_json::Value) {
    let name = format!("teraslice-all-{namespace}");
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules
    }))
    .expect("role");
    Api::<Role>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("create role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        "roleRef": {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
    }))
    .expect("rolebinding");
    Api::<RoleBinding>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create rolebinding");
}

/// A client with a TokenRequest token of `namespace`'s default ServiceAccount.
async fn service_account_client(admin: &Client, namespace: &str) -> Client {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    eventually("the default ServiceAccount", || async {
        accounts.get_opt("default").await.ok().flatten()
    })
    .await;
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .expect("token request");
    let issued: TokenRequest = accounts
        .create_subresource("token", "default", &PostParams::default(), &request)
        .await
        .expect("token");
    let token = issued.status.and_then(|s| s.token).expect("a token");
    let mut config = admin_config().await;
    config.auth_info = AuthInfo {
        token: Some(token.into()),
        ..AuthInfo::default()
    };
    Client::try_from(config).expect("service account client")
}

/// A client of `namespace`'s default ServiceAccount once a Role of `rules` applies to it.
async fn bound_client(admin: &Client, namespace: &str, rules: serde_json::Value) -> Client {
    grant_role(admin, namespace, rules).await;
    let sa = service_account_client(admin, namespace).await;
    // RBAC reaches the authorizer's cache quickly but not instantly.
    eventually("the RoleBinding to take effect", || async {
        Api::<Pod>::namespaced(sa.clone(), namespace)
            .list(&ListParams::default())
            .await
            .ok()
    })
    .await;
    sa
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_role_is_enough_to_allocate_and_stop() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-rbac").await;
    require_long_running_job_pods(&admin, &ns.name).await;
    let sa = bound_client(&admin, &ns.name, guide_rules()).await;
    let b = backend(sa, &system_config(&ns.name, "rbac", "")).await;
    let mut ex = execution("rbac-job", 2);
    let addr = b
        .allocate_execution_controller(&ex)
        .await
        .expect("allocate EC with the Role");
    ex.slicer_hostname = Some(addr.hostname);
    b.allocate_workers(&ex, 2)
        .await
        .expect("allocate workers with the Role");
    eventually("1 controller and 2 workers in the state", || async {
        let state = b.cluster_state().await.ok()?;
        (processes_of(&state, &ex.ex_id).count() == 3).then_some(())
    })
    .await;
    b.add_workers(&ex, 1).await.expect("scale with the Role");
    force_stop_until_gone(&b, &admin, &ns.name, &ex.ex_id, "force stop with the Role").await;
}

/// Every call the backend makes, including adoption and a restarted master's reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_narrowest_role_is_enough_for_every_operation() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-narrow").await;
    let sa = bound_client(&admin, &ns.name, narrowest_rules()).await;
    let config = system_config(&ns.name, "narrow", "");
    let first = backend(sa.clone(), &config).await;
    let mut ex = execution("narrow-job", 2);
    first
        .allocate_execution_controller(&ex)
        .await
        .expect("allocate EC");
    let addr = first
        .allocate_execution_controller(&ex)
        .await
        .expect("adopt the EC's objects");
    ex.slicer_hostname = Some(addr.hostname);
    drop(first);
    // A new process: it reads the Job back for the workers' owner.
    let b = backend(sa, &config).await;
    b.allocate_workers(&ex, 2).await.expect("allocate workers");
    b.set_workers(&ex, 3).await.expect("set workers");
    b.remove_workers(&ex.ex_id, 1)
        .await
        .expect("remove workers");
    let timed = StopOptions {
        timeout_ms: Some(1000),
        ..Default::default()
    };
    b.stop_execution(&ex.ex_id, &timed)
        .await
        .expect("graceful stop");
    force_stop_until_gone(&b, &admin, &ns.name, &ex.ex_id, "force stop").await;
}
