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

#[test]
fn a_missing_path_exits_2_and_says_which() {
    let out = tool::check(&[fixture("no-such-file.rules")]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no-such-file.rules: no such file or folder"),
        "{}",
        out.stderr
    );
}

#[test]
fn errors_exit_1_with_rendered_diagnostics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let out = tool::check(&[dir.join("hazard_missing_fields.rules")]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("error[E0402]"), "{}", out.stderr);
    assert!(
        out.stdout.contains("1 ruleset(s): 3 error(s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_folder_is_searched_and_a_layer_finds_its_base_beside_it() {
    let out = tool::check(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rulesets")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("checked 5 ruleset(s)"),
        "{}",
        out.stdout
    );
    let layer_alone = tool::check(&[fixture("mini_city.rules")]);
    assert_eq!(layer_alone.code, 0, "{}", layer_alone.stderr);
}

#[test]
fn failing_tests_exit_1_and_print_the_summary_line() {
    let dir = tempdir();
    let path = dir.join("wrong.rules");
    let src = std::fs::read_to_string(fixture("mini_checklist.rules"))
        .expect("fixture")
        .replace(
            "expect hazard duty.exits.blocked",
            "expect no hazard duty.exits.blocked",
        );
    std::fs::write(&path, src).expect("write");
    let out = tool::test(std::slice::from_ref(&path));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("2 passed, 1 failed"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("expected no hazard duty.exits.blocked, but it was found"),
        "{}",
        out.stdout
    );
}

#[test]
fn score_prints_the_explained_outcome() {
    let input: caregrade_dsl::eval::RawInput = serde_json::from_value(serde_json::json!({
        "as_of": "2026-06-01",
        "facts": {"floors": 2},
        "answers": {"duty.control_room": "no", "duty.exits": "clear"},
        "photos": {"duty.control_room": 1}
    }))
    .expect("input");
    let out = tool::score(&fixture("mini_checklist.rules"), &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["hazards"][0]["id"], "duty.control_room.no_duty");
    assert_eq!(v["hazards"][0]["deadline"], "2026-06-08");
    assert_eq!(v["ruleset"]["id"], "fire_mini");
    assert_eq!(v["ruleset"]["hash"].as_str().map(str::len), Some(64));
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("caregrade-tool-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn fmt_check_reports_and_fmt_rewrites_idempotently() {
    let dir = tempdir().join("fmt");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("messy.rules");
    std::fs::write(&path, "checklist   c \"检查\" {version \"1\"\n# 注释\npart p \"P\" { item i \"I\" { clause \"1\" ask yesno } } }\n").expect("write");
    let check = tool::fmt(std::slice::from_ref(&path), true, |_, _| {
        panic!("--check must not write")
    });
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("would reformat"), "{}", check.stdout);
    let mut written = String::new();
    let run = tool::fmt(std::slice::from_ref(&path), false, |_, text| {
        written = text.to_string();
        Ok(())
    });
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(written.contains("# 注释"), "comments are kept:\n{written}");
    std::fs::write(&path, &written).expect("write");
    let again = tool::fmt(std::slice::from_ref(&path), true, |_, _| {
        panic!("already formatted")
    });
    assert_eq!(again.code, 0, "{}", again.stdout);
}
