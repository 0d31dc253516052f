//! Every ruleset shipped in `checklists/` checks clean, its tests pass and they cover every
//! scoring rule, veto, grade, condition and hazard rule.

use caregrade_dsl::tool;
use std::path::PathBuf;

fn checklists() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../checklists")
}

#[test]
fn shipped_rulesets_check_clean() {
    let dir = checklists();
    let out = tool::check(&[dir]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stderr.contains("warning"),
        "warnings in shipped rulesets:\n{}",
        out.stderr
    );
}

#[test]
fn shipped_ruleset_tests_pass_with_full_coverage() {
    let dir = checklists();
    let out = tool::test(&[dir]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stdout.contains("not covered"),
        "coverage gaps:\n{}",
        out.stdout
    );
}

#[test]
fn shipped_rulesets_are_formatted() {
    let out = tool::fmt(&[checklists()], true, |_, _| Ok(()));
    assert_eq!(
        out.code, 0,
        "run `caregrade rules fmt checklists/`:\n{}{}",
        out.stdout, out.stderr
    );
}
