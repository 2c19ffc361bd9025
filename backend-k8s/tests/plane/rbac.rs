//! The backend needs nothing beyond the guide's namespace-scoped Role for the namespace's
//! `default` ServiceAccount.
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, PostParams};
use kube::config::AuthInfo;
use kube::Client;
use serde_json::json;
use teraslice_core::backend::processes_of;
use teraslice_core::ClusterBackend;

use super::support::*;

/// examples/k8s/role.yaml and roleBinding.yaml, for `namespace`.
async fn grant_guide_role(admin: &Client, namespace: &str) {
    let name = format!("teraslice-all-{namespace}");
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_role_is_enough_to_allocate_and_stop() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-rbac").await;
    require_long_running_job_pods(&admin, &ns.name).await;
    grant_guide_role(&admin, &ns.name).await;
    let sa = service_account_client(&admin, &ns.name).await;
    // RBAC reaches the authorizer's cache quickly but not instantly.
    eventually("the RoleBinding to take effect", || async {
        Api::<Pod>::namespaced(sa.clone(), &ns.name)
            .list(&ListParams::default())
            .await
            .ok()
    })
    .await;
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
