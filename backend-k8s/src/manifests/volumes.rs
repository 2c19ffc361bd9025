//! Job volumes (existing PVCs), the assets volume and the ephemeral emptyDir (§1.6).
use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, PersistentVolumeClaimVolumeSource, PodSpec, Volume, VolumeMount,
};
use teraslice_core::job::Volume as JobVolume;

use crate::config::K8sConfig;

fn mount(spec: &mut PodSpec, volume: Volume, path: &str) {
    let name = volume.name.clone();
    spec.volumes.get_or_insert_with(Vec::new).push(volume);
    if let Some(c) = spec.containers.first_mut() {
        c.volume_mounts
            .get_or_insert_with(Vec::new)
            .push(VolumeMount {
                name,
                mount_path: path.into(),
                ..Default::default()
            });
    }
}

fn pvc(name: &str) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: name.into(),
            read_only: None,
        }),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

/// Each `{name, path}`: the PVC `name` (which must exist) mounted at `path`.
pub fn set_volumes(spec: &mut PodSpec, volumes: &[JobVolume]) {
    for v in volumes {
        mount(spec, pvc(&v.name), &v.path);
    }
}

/// `assets_volume` (a PVC) or an emptyDir at `assets_directory`: the root filesystem is read-only.
pub fn set_assets_volume(spec: &mut PodSpec, cfg: &K8sConfig) {
    let Some(dir) = &cfg.assets_directory else {
        return;
    };
    match &cfg.assets_volume {
        Some(claim) => mount(spec, pvc(claim), dir),
        None => mount(spec, empty_dir("assets"), dir),
    }
}

pub fn set_ephemeral_storage(spec: &mut PodSpec, enabled: bool) {
    if enabled {
        mount(spec, empty_dir("ephemeral-volume"), "/ephemeral0");
    }
}
