//! The example jobs in `examples/jobs/` that use data_generator / file_reader / file_exporter
//! validate with the built-in ops.
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::path::Path;

#[test]
fn example_jobs_validate() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/jobs");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut checked = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let ours = ["\"data_generator\"", "\"file_reader\"", "\"file_exporter\""];
        if !ours.iter().any(|op| text.contains(op)) {
            continue;
        }
        let job = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let errors = ops_support::errors(job);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked > 0, "no example jobs in {}", dir.display());
    Ok(())
}
