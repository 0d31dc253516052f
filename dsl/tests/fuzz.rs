//! A mutation fuzzer for the whole pipeline: source bytes → check → compile → bind random input
//! → evaluate → report. The property: nothing panics, overflows the stack or hangs.
//!
//! cargo-fuzz needs a nightly compiler, which this project's machines do not have, so this is a
//! plain test with a seeded generator: every case is reproducible from its seed.
//! `CAREGRADE_FUZZ_SECS=600 cargo test --release -p caregrade-dsl --test fuzz -- --nocapture`
//! runs it for ten minutes; CI runs it for `CAREGRADE_FUZZ_SECS` (default 20) seconds.

use caregrade_dsl::{Library, eval, report, synth};
use std::path::Path;
use std::time::{Duration, Instant};

/// xorshift64*: small, fast, and reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "standard",
    "checklist",
    "credit",
    "sampling",
    "part",
    "group",
    "item",
    "ask",
    "when",
    "score",
    "deduct",
    "per",
    "max",
    "clause",
    "hazard",
    "general",
    "major",
    "pending",
    "measure",
    "deadline",
    "party",
    "department",
    "veto",
    "effect",
    "cap",
    "grades",
    "grade",
    "total",
    ">=",
    "each",
    "require",
    "facts",
    "let",
    "event",
    "override",
    "extend",
    "extends",
    "test",
    "expect",
    "answers",
    "given",
    "best",
    "worst",
    "yes",
    "no",
    "and",
    "or",
    "not",
    "if",
    "then",
    "else",
    "match",
    "=>",
    "_",
    "answer",
    "points(",
    "count(",
    "within(",
    "min(",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    ".",
    "..",
    "\"",
    "\"标题\"",
    "#",
    "//",
    "\n",
    " ",
    "0",
    "1",
    "0.5",
    "-3",
    "99999999999999999",
    "40%",
    "2026-01-01",
    "2026-02-30",
    "3 years",
    "yesno",
    "choice",
    "multi",
    "number",
    "count",
    "date",
    "text",
    "range",
    "unit",
    "==",
    "!=",
    "<",
    "+",
    "-",
    "*",
    "/",
    "if_not_applicable",
    "rescale",
    "full",
    "zero",
    "immediately",
    "days",
    "levels",
    "level",
    "otherwise",
    "blacklist",
    "ratio",
    "weight",
    "team",
    "recuse",
    "always",
    "cover",
    "名称",
    "\u{3000}",
    "\u{feff}",
    "\\",
    "\\\"",
];

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut out = Vec::new();
    for sub in ["rulesets", "diagnostics"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                if let Ok(s) = std::fs::read_to_string(&p) {
                    out.push(s);
                }
            }
        }
    }
    out.push(synth::standard(1).0);
    out
}

fn mutate(rng: &mut Rng, corpus: &[String]) -> Vec<u8> {
    let mut b = corpus[rng.below(corpus.len())].clone().into_bytes();
    // Half the cases take one mutation that keeps the syntax, so the checker and the evaluator
    // see many valid-but-odd rulesets, not only parse errors.
    if rng.below(2) == 0 {
        return swap_word(rng, b);
    }
    for _ in 0..1 + rng.below(8) {
        let len = b.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            7 => b = swap_word(rng, b),
            0 => {
                let end = (at + rng.below(40)).min(len);
                b.drain(at..end);
            }
            1 | 2 => {
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, tok.iter().copied());
            }
            3 => {
                let end = (at + rng.below(200)).min(len);
                let chunk = b[at..end].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, chunk);
            }
            4 => b.truncate(at),
            5 => {
                if at < len {
                    b[at] = rng.next() as u8;
                }
            }
            _ => {
                // Splice a piece of another corpus file in: crosses rulesets of different kinds.
                let other = corpus[rng.below(corpus.len())].as_bytes();
                let s = rng.below(other.len());
                let e = (s + rng.below(300)).min(other.len());
                b.splice(at..at, other[s..e].iter().copied());
            }
        }
    }
    b
}

/// Replaces one word or number with another from the same text, or a number with a random one.
fn swap_word(rng: &mut Rng, b: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&b).into_owned();
    let words: Vec<(usize, usize)> = {
        let bytes = text.as_bytes();
        let mut v = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' {
                let s = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                v.push((s, i));
            } else {
                i += 1;
            }
        }
        v
    };
    if words.is_empty() {
        return b;
    }
    let (s, e) = words[rng.below(words.len())];
    let replacement = if text.as_bytes()[s].is_ascii_digit() {
        [
            "0", "1", "2", "5", "10", "0.5", "0.25", "100", "1000", "-1", "99999",
        ][rng.below(11)]
        .to_string()
    } else {
        let (s2, e2) = words[rng.below(words.len())];
        text[s2..e2].to_string()
    };
    let mut out = text[..s].to_string();
    out.push_str(&replacement);
    out.push_str(&text[e..]);
    out.into_bytes()
}

fn random_json(rng: &mut Rng) -> serde_json::Value {
    use serde_json::json;
    match rng.below(9) {
        0 => json!(true),
        1 => json!(false),
        2 => json!(rng.below(600) as i64 - 100),
        3 => json!(["a", "b", "both", "yes"]),
        4 => json!("2026-01-01"),
        5 => json!(
            [
                "both", "site", "none", "full", "partial", "no", "clear", "blocked", "locked", "A",
                "C", "D"
            ][rng.below(12)]
        ),
        6 => json!(0.125),
        7 => json!(null),
        _ => json!({"nested": 1}),
    }
}

fn run_case(bytes: &[u8], rng: &mut Rng) {
    let mut lib = Library::new();
    let file = lib.add("fuzz.rules", bytes);
    let comp = lib.compile_file(file);
    for d in &comp.diagnostics {
        let _ = d.render(&lib.sources);
        let _ = d.located(&lib.sources);
    }
    if let Some(ast) = lib.ruleset(file) {
        // Formatting is idempotent on anything that parses.
        let once = caregrade_dsl::fmt::format(&lib.sources[file].text, ast);
        if let Ok(again) = caregrade_dsl::parse::parse(0, &once) {
            assert_eq!(
                caregrade_dsl::fmt::format(&once, &again),
                once,
                "formatting is not idempotent"
            );
        }
    }
    let Some(c) = comp.compiled else { return };
    let _ = serde_json::to_string(&c);
    if let Some(ast) = lib.ruleset(file) {
        let _ = caregrade_dsl::testing::run(ast, &c);
    }
    let mut raw = eval::RawInput {
        as_of: Some(["2026-06-01", "bad", "1900-01-01"][rng.below(3)].into()),
        ..Default::default()
    };
    for f in &c.facts {
        raw.facts.insert(f.id.clone(), random_json(rng));
    }
    for n in c.nodes.iter().filter(|n| n.item.is_some()) {
        if rng.below(4) > 0 {
            raw.answers.insert(n.path.clone(), random_json(rng));
        }
        raw.photos.insert(n.path.clone(), rng.below(3) as u32);
    }
    for e in &c.events {
        raw.events.push(eval::RawEvent {
            kind: e.id.clone(),
            date: format!(
                "20{:02}-0{}-1{}",
                rng.below(40),
                1 + rng.below(9),
                rng.below(10)
            ),
            reference: None,
        });
    }
    let input = c.bind(&raw);
    let o = eval::evaluate(&c, &input);
    let _ = serde_json::to_string(&report::report(&c, &input, &o));
}

#[test]
fn pipeline_never_panics_on_mutated_sources() {
    let secs: u64 = std::env::var("CAREGRADE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed0: u64 = std::env::var("CAREGRADE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let corpus = corpus();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut cases, mut compiled) = (0u64, 0u64);
    while Instant::now() < deadline {
        let seed = seed0
            .wrapping_add(cases)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            | 1;
        let mut rng = Rng(seed);
        let bytes = mutate(&mut rng, &corpus);
        let started = Instant::now();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(&bytes, &mut rng)));
        if let Err(e) = result {
            let _ = std::fs::write(
                std::env::temp_dir().join("caregrade-fuzz-crash.rules"),
                &bytes,
            );
            panic!(
                "seed {seed} panicked: {:?}; input saved to caregrade-fuzz-crash.rules",
                e.downcast_ref::<String>()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "seed {seed} took {:?}",
            started.elapsed()
        );
        let mut lib = Library::new();
        lib.add("x", &bytes);
        compiled += u64::from(lib.compile_file(0).compiled.is_some());
        cases += 1;
    }
    eprintln!("fuzz: {cases} cases in {secs} s ({compiled} compiled), seed {seed0}");
    assert!(cases > 0);
}
