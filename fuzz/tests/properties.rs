//! A few thousand generated inputs per fuzz target on every test run (`cargo xtask fuzz` runs
//! a million): nothing panics, every refusal names the field at fault.
use teraslice_fuzz::run;

const CASES: u32 = 2000;

fn target(name: &str) {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    match run(name, CASES, seed) {
        Ok(t) => {
            assert_eq!(t.cases, u64::from(CASES), "every case ran");
            assert!(
                t.refused > 0,
                "{name}: the generator reaches refusals: {t:?}"
            );
        }
        Err(failure) => panic!("{name}: {failure}"),
    }
}

#[test]
fn job_validation_never_panics_and_names_the_field() {
    target("job");
}

#[test]
fn config_documents_never_panic_and_name_the_key() {
    target("config");
}

#[test]
fn config_text_never_panics_and_names_the_key_or_the_position() {
    target("config-yaml");
}

#[test]
fn frames_never_panic_and_name_the_field() {
    target("frame");
}
