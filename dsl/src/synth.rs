//! A synthetic standard of any size, for benchmarks and the fuzz harness: 10 items per group,
//! 10 groups per part, a mix of every question and scoring form, with answers for all of it.

use std::fmt::Write;

/// Source of a standard with `parts` × 10 × 10 items, and a JSON input answering every item.
pub fn standard(parts: usize) -> (String, String) {
    let mut s = String::with_capacity(parts * 40_000);
    let mut answers = Vec::new();
    let _ = writeln!(
        s,
        "standard synth \"合成标准\" {{\n    version \"1\"\n    max {}\n    if_not_applicable rescale",
        parts * 100
    );
    s.push_str("    facts {\n        beds \"床位\": count range 10..5000\n        residents \"入住\": count range 0..5000\n        has_grounds \"院落\": yesno\n    }\n");
    s.push_str("    let occupancy \"入住率\" = residents / beds\n");
    for p in 0..parts {
        let _ = writeln!(s, "    part p{p} \"部分{p}\" max 100 {{");
        for g in 0..10 {
            let _ = writeln!(s, "        group g{g} \"分组{g}\" max 10 {{");
            for i in 0..10 {
                let clause = format!("{}.{}.{}", p + 1, g + 1, i + 1);
                let path = format!("p{p}.g{g}.i{i}");
                match i {
                    0 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"车辆停靠\" max 2 {{\n                clause \"{clause}\"\n                method site\n                ask choice {{\n                    both \"均可\" = 2\n                    site \"仅场地\" = 1\n                    none \"均不可\" = 0\n                }}\n            }}"
                        );
                        answers.push(format!("\"{path}\": \"both\""));
                    }
                    1 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"公交站距离\" max 2 {{\n                clause \"{clause}\"\n                ask number unit \"m\" range 0..5000\n                score if answer <= 300 then 2 else if answer <= 500 then 1 else 0\n            }}"
                        );
                        answers.push(format!("\"{path}\": 250"));
                    }
                    2 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"记录\" max 2 {{\n                clause \"{clause}\"\n                ask count range 0..10\n                deduct 0.5 per answer\n                evidence photo 1 if answer > 0\n            }}"
                        );
                        answers.push(format!("\"{path}\": 1"));
                    }
                    3 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"内部交通\" max 1 {{\n                clause \"{clause}\"\n                when has_grounds\n                ask yesno\n            }}"
                        );
                        answers.push(format!("\"{path}\": true"));
                    }
                    4 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"制度\" max 1 {{\n                clause \"{clause}\"\n                ask multi {{\n                    a \"A\"\n                    b \"B\"\n                    c \"C\"\n                    d \"D\"\n                }}\n                deduct 0.25 per unselected(answer)\n            }}"
                        );
                        answers.push(format!("\"{path}\": [\"a\", \"b\", \"c\"]"));
                    }
                    5 => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"三级判断\" max 1 {{\n                clause \"{clause}\"\n                ask choice {{\n                    yes \"符合\" = 1\n                    partly \"部分符合\" = 0.5\n                    no \"不符合\" = 0\n                }}\n                hazard h general \"不符合\" {{\n                    when answer == no\n                    measure \"整改\"\n                    deadline 30 days\n                    party principal\n                    department civil_affairs\n                }}\n            }}"
                        );
                        answers.push(format!("\"{path}\": \"partly\""));
                    }
                    _ => {
                        let _ = writeln!(
                            s,
                            "            item i{i} \"是否\" max 0.25 {{\n                clause \"{clause}\"\n                ask yesno\n            }}"
                        );
                        answers.push(format!("\"{path}\": {}", i % 2 == 0));
                    }
                }
            }
            s.push_str("        }\n");
        }
        s.push_str("    }\n");
    }
    s.push_str("    veto low \"入住率过低\" {\n        when occupancy < 10%\n        effect ineligible\n    }\n");
    s.push_str("    grades {\n");
    for (k, (t, pct)) in [(36, 40), (45, 50), (57, 60), (78, 80), (90, 90)]
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            s,
            "        grade g{} \"{}级\" {{\n            total >= {}\n            each part >= {pct}%\n        }}",
            k + 1,
            k + 1,
            t * parts
        );
    }
    s.push_str("    }\n}\n");
    let input = format!(
        "{{\"as_of\": \"2026-06-01\", \"facts\": {{\"beds\": 100, \"residents\": 80, \"has_grounds\": true}}, \"answers\": {{{}}}}}",
        answers.join(", ")
    );
    (s, input)
}

#[cfg(test)]
mod tests {
    use crate::{Library, eval};

    #[test]
    fn synthetic_standard_compiles_and_answers_every_item() {
        let (src, input) = super::standard(2);
        let mut lib = Library::new();
        lib.add("synth.rules", src.as_bytes());
        let comp = lib.compile_file(0);
        let msgs: Vec<String> = comp
            .diagnostics
            .iter()
            .map(|d| d.render(&lib.sources))
            .collect();
        let c = comp
            .compiled
            .unwrap_or_else(|| panic!("{}", msgs.join("\n")));
        let raw: eval::RawInput = serde_json::from_str(&input).expect("input json");
        let bound = c.bind(&raw);
        assert!(bound.problems.is_empty(), "{:?}", bound.problems);
        let o = eval::evaluate(&c, &bound);
        assert!(o.problems.is_empty());
        assert_eq!(
            o.nodes
                .iter()
                .filter(|n| n.status == eval::Status::Missing)
                .count(),
            0
        );
    }
}
