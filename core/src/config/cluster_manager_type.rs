//! [`ClusterManagerType`]: the name of a cluster backend, as `teraslice.cluster_manager_type`
//! gives it. Open: any name a [`crate::backend_factory::BackendFactory`] registers is valid; the
//! built-in ones have constants.
use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `teraslice.cluster_manager_type`: which registered cluster backend runs executions.
///
/// The built-in backends are [`ClusterManagerType::NATIVE`], [`ClusterManagerType::KUBERNETES`]
/// (also accepted as `kubernetesV2`, Teraslice's name) and [`ClusterManagerType::MOCK`]; a
/// library user names their own with [`ClusterManagerType::new`] and registers it in a
/// [`crate::backend_factory::BackendFactory`]. Whether a name is registered is checked when the
/// master builds its backend, not when the config is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterManagerType(Cow<'static, str>);

impl ClusterManagerType {
    /// Execution controllers and workers as child processes of the master (the default).
    pub const NATIVE: Self = Self(Cow::Borrowed("native"));
    /// One Kubernetes Job per execution controller and one Deployment of workers.
    pub const KUBERNETES: Self = Self(Cow::Borrowed("kubernetes"));
    /// The in-memory backend: no processes, for tests and demos.
    pub const MOCK: Self = Self(Cow::Borrowed("mock"));

    /// What names may look like: what [`ClusterManagerType::new`] checks, for error messages.
    pub const NAME_RULE: &'static str =
        "a backend name: letters, digits, `_` and `-`, starting with a letter";

    /// The type named `name`; `kubernetesV2` is [`ClusterManagerType::KUBERNETES`]. Fails for a
    /// name that does not follow [`ClusterManagerType::NAME_RULE`].
    pub fn new(name: &str) -> Result<Self, InvalidBackendName> {
        let known = [Self::NATIVE, Self::KUBERNETES, Self::MOCK];
        if name == "kubernetesV2" {
            return Ok(Self::KUBERNETES);
        }
        if let Some(builtin) = known.into_iter().find(|k| k.as_str() == name) {
            return Ok(builtin);
        }
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self(Cow::Owned(name.to_string())))
        } else {
            Err(InvalidBackendName(name.to_string()))
        }
    }

    /// A type from a name known at compile time, for a backend crate's own constant
    /// (`const NOMAD: ClusterManagerType = ClusterManagerType::from_static("nomad");`). The
    /// name is not checked: keep to [`ClusterManagerType::NAME_RULE`].
    pub const fn from_static(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// The name, as written in the config (`kubernetes` for `kubernetesV2`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Other names the config accepts for this type (`kubernetesV2` for `kubernetes`).
    pub fn aliases(&self) -> &'static [&'static str] {
        if *self == Self::KUBERNETES {
            &["kubernetesV2"]
        } else {
            &[]
        }
    }
}

/// A `cluster_manager_type` that is not a name (see [`ClusterManagerType::NAME_RULE`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be {rule}, got \"{0}\"", rule = ClusterManagerType::NAME_RULE)]
pub struct InvalidBackendName(pub String);

impl Default for ClusterManagerType {
    fn default() -> Self {
        Self::NATIVE
    }
}

impl fmt::Display for ClusterManagerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ClusterManagerType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ClusterManagerType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::new(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_and_the_kubernetes_alias_give_the_constants() {
        assert_eq!(
            ClusterManagerType::new("native"),
            Ok(ClusterManagerType::NATIVE)
        );
        assert_eq!(
            ClusterManagerType::new("mock"),
            Ok(ClusterManagerType::MOCK)
        );
        for name in ["kubernetes", "kubernetesV2"] {
            assert_eq!(
                ClusterManagerType::new(name),
                Ok(ClusterManagerType::KUBERNETES)
            );
        }
        assert_eq!(ClusterManagerType::KUBERNETES.aliases(), ["kubernetesV2"]);
    }

    #[test]
    fn other_names_are_open_but_must_look_like_names() {
        let slurm = ClusterManagerType::new("slurm-hpc_2").map(|t| t.to_string());
        assert_eq!(slurm.as_deref(), Ok("slurm-hpc_2"));
        for bad in ["", "2fast", "with space", "a/b"] {
            let err = ClusterManagerType::new(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("letters, digits") && err.contains(bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn serde_uses_the_name() {
        let json = serde_json::to_string(&ClusterManagerType::from_static("command"));
        assert_eq!(json.ok().as_deref(), Some("\"command\""));
        let back: Result<ClusterManagerType, _> = serde_json::from_str("\"kubernetesV2\"");
        assert_eq!(back.ok(), Some(ClusterManagerType::KUBERNETES));
    }
}
