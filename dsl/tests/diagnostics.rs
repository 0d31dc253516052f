//! Snapshots of rendered diagnostics, one per file in `tests/diagnostics/`, so that the quality
//! of error messages cannot silently regress; and bad inputs that must give a diagnostic, never
//! a panic, a stack overflow or a hang.

use caregrade_dsl::Library;
use rstest::rstest;
use std::path::PathBuf;

fn render_all(lib: &Library) -> String {
    let mut out = String::new();
    for (file, _) in lib.sources.iter().enumerate() {
        for d in lib.compile_file(file).diagnostics {
            out.push_str(&d.render(&lib.sources));
            out.push('\n');
        }
    }
    out
}

#[rstest]
fn rendered(#[files("tests/diagnostics/*.rules")] path: PathBuf) {
    let bytes = std::fs::read(&path).expect("fixture");
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("case")
        .to_string();
    let mut lib = Library::new();
    lib.add(format!("{name}.rules"), &bytes);
    let out = render_all(&lib);
    assert!(
        out.contains("error"),
        "{name}: expected at least one error, got:\n{out}"
    );
    insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("diagnostics", out);
    });
}

/// (name, bytes, expected code) for inputs that are awkward to keep as files.
fn generated() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let nested = format!(
        "standard s \"t\" {{ version \"1\" let x \"x\" = {}1{} }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let nested_ifs = format!(
        "standard s \"t\" {{ version \"1\" let x \"x\" = {}1{} }}",
        "if yes then ".repeat(5_000),
        " else 0".repeat(5_000)
    );
    let many_nots = format!(
        "standard s \"t\" {{ version \"1\" let x \"x\" = {}yes }}",
        "not ".repeat(100_000)
    );
    let long_sum = format!(
        "standard s \"t\" {{ version \"1\" let x \"x\" = 1{} }}",
        " + 1".repeat(100_000)
    );
    vec![
        ("ten_megabytes", vec![b'#'; 10 * 1024 * 1024], "E0001"),
        ("binary", vec![0x7f, b'E', b'L', b'F', 0, 1, 2, 3], "E0002"),
        (
            "invalid_utf8",
            b"standard s \"\xff\xfe\" {}".to_vec(),
            "E0003",
        ),
        (
            "gbk_text",
            b"standard s \"\xd1\xf8\xc0\xcf\" {}".to_vec(),
            "E0003",
        ),
        ("ten_thousand_parens", nested.into_bytes(), "E0004"),
        ("five_thousand_ifs", nested_ifs.into_bytes(), "E0004"),
        ("hundred_thousand_nots", many_nots.into_bytes(), "E0105"),
        ("hundred_thousand_terms", long_sum.into_bytes(), "E0105"),
    ]
}

#[test]
fn bad_inputs_get_a_diagnostic_not_a_panic() {
    for (name, bytes, code) in generated() {
        let started = std::time::Instant::now();
        let mut lib = Library::new();
        lib.add(name, &bytes);
        let diags = lib.compile_file(0).diagnostics;
        assert!(
            diags.iter().any(|d| d.code == code),
            "{name}: expected {code}, got {:?}",
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
        // Rendering must not choke on the same input either.
        for d in &diags {
            assert!(
                d.render(&lib.sources).contains(d.code),
                "{name}: rendering lost the code"
            );
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn duplicate_ids_across_sections_and_cycles_are_reported_together() {
    let src =
        std::fs::read_to_string("tests/diagnostics/checker_many_errors.rules").expect("fixture");
    let mut lib = Library::new();
    lib.add("x.rules", src.as_bytes());
    let codes: Vec<&str> = lib
        .compile_file(0)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect();
    for want in [
        "E0202", "E0240", "E0210", "E0201", "E0310", "E0320", "E0322", "E0230", "W0232",
    ] {
        assert!(codes.contains(&want), "missing {want} in {codes:?}");
    }
}
