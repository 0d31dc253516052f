//! Times the phases of compiling the synthetic 1,000-item standard (a profiling aid):
//! `cargo run --release -p caregrade-dsl --example phases`

use caregrade_dsl::{Library, parse, synth};
use std::time::Instant;

fn main() {
    let (src, _) = synth::standard(10);
    if std::env::args().any(|a| a == "pest-only") {
        use pest::Parser as _;
        for _ in 0..3 {
            let _ = parse::RulesParser::parse(parse::Rule::file, &src).map(|p| p.count());
        }
        return;
    }
    if std::env::args().any(|a| a == "parse-only") {
        for _ in 0..3 {
            std::hint::black_box(parse::parse_file(0, &src));
        }
        return;
    }
    if std::env::args().any(|a| a == "fmt-only") {
        if let Some(ast) = parse::parse_file(0, &src).ruleset {
            for _ in 0..5 {
                std::hint::black_box(caregrade_dsl::fmt::format(&src, &ast));
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "eval-only") {
        let (_, input) = synth::standard(10);
        let mut lib = Library::new();
        lib.add("s", src.as_bytes());
        let Some(c) = lib.compile_file(0).compiled else {
            return;
        };
        let Ok(raw) = serde_json::from_str::<caregrade_dsl::eval::RawInput>(&input) else {
            return;
        };
        let bound = c.bind(&raw);
        for _ in 0..2000 {
            std::hint::black_box(caregrade_dsl::eval::evaluate(&c, &bound));
        }
        return;
    }
    let n = 50;
    let t = Instant::now();
    for _ in 0..n {
        let _ = parse::parse_file(0, &src);
    }
    let parse_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    let t = Instant::now();
    for _ in 0..n {
        use pest::Parser as _;
        let _ = parse::RulesParser::parse(parse::Rule::file, &src).map(|p| p.count());
    }
    println!(
        "pest alone {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    );
    if let Some(ast) = parse::parse_file(0, &src).ruleset {
        let t = Instant::now();
        for _ in 0..n {
            let _ = caregrade_dsl::fmt::format(&src, &ast);
        }
        println!(
            "format {:.2} ms",
            t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
        );
    }
    let t = Instant::now();
    for _ in 0..n {
        let _ = caregrade_dsl::sha256_hex(src.as_bytes());
    }
    let hash_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    let mut lib = Library::new();
    lib.add("s", src.as_bytes());
    let t = Instant::now();
    for _ in 0..n {
        let _ = lib.compile_file(0);
    }
    let compile_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    println!(
        "source {} bytes: parse {parse_ms:.2} ms, hash {hash_ms:.2} ms, check+compile {compile_ms:.2} ms",
        src.len()
    );
}
