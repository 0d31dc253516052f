//! The command-line behaviour of `caregrade rules`, through `caregrade_dsl::tool`.

use caregrade_dsl::tool;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/rulesets")
        .join(name)
}

#[test]
fn fixtures_check_clean() {
    let out = tool::check(&[
        fixture("mini_standard.rules"),
        fixture("mini_checklist.rules"),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn fixture_tests_pass() {
    let out = tool::test(&[
        fixture("mini_standard.rules"),
        fixture("mini_checklist.rules"),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("8 passed, 0 failed"), "{}", out.stdout);
}
