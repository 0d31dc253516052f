//! Data-driven evaluator cases: each `tests/eval/*.json` names fixture rulesets, an input and
//! the part of the report it expects. Expected objects match when every key they list matches;
//! arrays must match element by element.

use caregrade_dsl::{Library, eval, report};
use rstest::rstest;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                subset(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{at}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    serde_json::to_string_pretty(actual).unwrap_or_default()
                ));
            }
            e.iter()
                .zip(a)
                .enumerate()
                .try_for_each(|(i, (ev, av))| subset(ev, av, &format!("{at}[{i}]")))
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

#[rstest]
fn case(#[files("tests/eval/*.json")] path: PathBuf) {
    let spec: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("case")).expect("case json");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rulesets");
    let mut lib = Library::new();
    for f in spec["rulesets"].as_array().expect("rulesets") {
        let name = f.as_str().expect("name");
        lib.add(name, &std::fs::read(dir.join(name)).expect("ruleset"));
    }
    let comp = lib
        .compile(spec["compile"].as_str().expect("compile"))
        .expect("ruleset id");
    let c = comp
        .compiled
        .unwrap_or_else(|| panic!("does not compile: {:?}", comp.diagnostics));
    let raw: eval::RawInput = serde_json::from_value(spec["input"].clone()).expect("input");
    let input = c.bind(&raw);
    let outcome = eval::evaluate(&c, &input);
    let got = serde_json::to_value(report::report(&c, &input, &outcome)).expect("report json");
    if let Err(e) = subset(&spec["expect"], &got, "report") {
        panic!("{}: {e}", path.display());
    }
}

#[test]
fn input_bound_to_another_ruleset_is_reported_not_panicked_on() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rulesets");
    let mut lib = Library::new();
    for name in ["mini_standard.rules", "mini_checklist.rules"] {
        lib.add(name, &std::fs::read(dir.join(name)).expect("ruleset"));
    }
    let standard = lib.compile("mini").and_then(|c| c.compiled).expect("mini");
    let checklist = lib
        .compile("fire_mini")
        .and_then(|c| c.compiled)
        .expect("fire_mini");
    let wrong = checklist.bind(&eval::RawInput::default());
    let o = eval::evaluate(&standard, &wrong);
    assert_eq!(o.problems.len(), 1, "{:?}", o.problems);
    assert!(o.problems[0].reason.contains("different ruleset"));
    assert_eq!(o.total, caregrade_dsl::num::Num::ZERO);
}

#[test]
fn a_tampered_compiled_form_is_refused_before_evaluation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rulesets");
    let mut lib = Library::new();
    lib.add(
        "mini_standard.rules",
        &std::fs::read(dir.join("mini_standard.rules")).expect("ruleset"),
    );
    let c = lib.compile("mini").and_then(|c| c.compiled).expect("mini");
    assert_eq!(c.validate(), Ok(()));
    let mut json = serde_json::to_value(&c).expect("json");
    json["nodes"][1]["parent"] = serde_json::json!(999);
    let tampered: caregrade_dsl::ir::Compiled =
        serde_json::from_value(json).expect("still well-formed JSON");
    assert!(
        tampered
            .validate()
            .expect_err("refused")
            .contains("node 999")
    );
    let mut json = serde_json::to_value(&c).expect("json");
    json["lets"][0]["expr"] = serde_json::json!({"fact": 77});
    let tampered: caregrade_dsl::ir::Compiled = serde_json::from_value(json).expect("json");
    assert!(tampered.validate().is_err());
}

/// One answer checked on its own, as the sync endpoint does for each answer of a batch.
#[rstest]
#[case("duty.control_room", serde_json::json!(true), None)]
#[case("duty.control_room", serde_json::json!(null), None)]
#[case("duty.control_room", serde_json::json!(3), Some("yes"))]
#[case("duty.missing", serde_json::json!(true), Some("no such item"))]
#[case("duty", serde_json::json!(true), Some("section"))]
fn check_answer(#[case] item: &str, #[case] value: Value, #[case] error: Option<&str>) {
    let text = std::fs::read_to_string("tests/rulesets/mini_checklist.rules").unwrap();
    let mut lib = Library::new();
    let f = lib.add("mini_checklist.rules", text.as_bytes());
    let c = lib.compile_file(f).compiled.unwrap();
    match (c.check_answer(item, &value), error) {
        (Ok(()), None) => {}
        (Err(e), Some(want)) => assert!(e.contains(want), "{e}"),
        (got, want) => panic!("{item} = {value}: got {got:?}, wanted error {want:?}"),
    }
}
