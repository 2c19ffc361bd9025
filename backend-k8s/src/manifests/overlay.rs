//! `pod_spec_override`: lodash `merge` of the job's object into the generated pod spec.
use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Map, Value};

/// Objects merge key by key, arrays index by index, anything else is replaced.
pub fn deep_merge(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(t), Value::Object(s)) => {
            for (k, v) in s {
                match t.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(s)) => {
            for (i, v) in s.iter().enumerate() {
                match t.get_mut(i) {
                    Some(existing) => deep_merge(existing, v),
                    None => t.push(v.clone()),
                }
            }
        }
        (t, s) => *t = s.clone(),
    }
}

/// Merges `overlay` into `spec`; the error says which Kubernetes field the result breaks.
pub fn merge_pod_spec(spec: &PodSpec, overlay: &Map<String, Value>) -> Result<PodSpec, String> {
    let mut value = serde_json::to_value(spec).map_err(|e| e.to_string())?;
    deep_merge(&mut value, &Value::Object(overlay.clone()));
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_merge_by_index_and_objects_by_key() {
        let mut t = json!({"containers": [{"name": "a", "image": "x"}], "keep": 1});
        deep_merge(
            &mut t,
            &json!({"containers": [{"image": "y"}, {"name": "b"}], "new": true}),
        );
        assert_eq!(
            t,
            json!({"containers": [{"name": "a", "image": "y"}, {"name": "b"}], "keep": 1, "new": true})
        );
    }
}
