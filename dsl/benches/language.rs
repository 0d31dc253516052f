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
    let compiled = lib.compile_file(0).compiled.expect("synthetic standard compiles");
    assert_eq!(compiled.nodes.iter().filter(|n| n.item.is_some()).count(), 1000);
    let input = compiled.bind(&raw);
    assert!(input.problems.is_empty(), "{:?}", input.problems);

    c.bench_function("parse_check_compile_1000_items", |b| {
        b.iter(|| {
            let mut lib = Library::new();
            lib.add("synth.rules", black_box(source.as_bytes()));
            black_box(lib.compile_file(0).compiled.is_some())
        })
    });
    c.bench_function("evaluate_1000_items", |b| b.iter(|| black_box(eval::evaluate(black_box(&compiled), black_box(&input)))));
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
