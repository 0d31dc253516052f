//! Criterion benchmarks of the language on a synthetic 1,000-item standard:
//! parse + check + compile, and evaluation of the compiled form with every item answered.
//! `cargo bench -p caregrade-dsl --bench language`

use caregrade_dsl::{Library, eval, report, synth};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (source, input_json) = synth::standard(10);
    let raw: eval::RawInput = serde_json::from_str(&input_json).expect("input");
    let mut lib = Library::new();
    lib.add("synth.rules", source.as_bytes());
    let compiled = lib
        .compile_file(0)
        .compiled
        .expect("synthetic standard compiles");
    assert_eq!(
        compiled.nodes.iter().filter(|n| n.item.is_some()).count(),
        1000
    );
    let input = compiled.bind(&raw);
    assert!(input.problems.is_empty(), "{:?}", input.problems);

    c.bench_function("parse_check_compile_1000_items", |b| {
        b.iter(|| {
            let mut lib = Library::new();
            lib.add("synth.rules", black_box(source.as_bytes()));
            black_box(lib.compile_file(0).compiled.is_some())
        })
    });
    // Baselines measured in the same run, so that ratios survive a noisy machine.
    c.bench_function("baseline_pest_parse_only_1000_items", |b| {
        use pest::Parser as _;
        b.iter(|| {
            black_box(
                caregrade_dsl::parse::RulesParser::parse(
                    caregrade_dsl::parse::Rule::file,
                    black_box(&source),
                )
                .map(|p| p.count()),
            )
        })
    });
    let compiled_json = serde_json::to_string(&compiled).expect("json");
    c.bench_function("baseline_deserialize_compiled_json_1000_items", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_str::<caregrade_dsl::ir::Compiled>(black_box(&compiled_json))
                    .map(|c| c.nodes.len()),
            )
        })
    });
    c.bench_function("evaluate_1000_items", |b| {
        b.iter(|| black_box(eval::evaluate(black_box(&compiled), black_box(&input))))
    });
    c.bench_function("bind_evaluate_report_1000_items", |b| {
        b.iter(|| {
            let input = compiled.bind(black_box(&raw));
            let o = eval::evaluate(&compiled, &input);
            black_box(report::report(&compiled, &input, &o))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
