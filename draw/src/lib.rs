//! The 双随机 draw: which institutions are checked and by which inspectors, reproducible bit for
//! bit from public data (the seed published before the draw, the roster snapshots and the
//! sampling policy) so that anyone can re-run it (`caregrade draw verify`).
//!
//! Only integer arithmetic is used: the same inputs give the same draw on any machine and in any
//! language that can compute SHA-256.

use caregrade_dsl::eval::{self, RawInput};
use caregrade_dsl::ir::Compiled;
use caregrade_dsl::num::Num;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Name and version of this algorithm; stored with every draw.
pub const ALGORITHM: &str = "caregrade-draw-v1";

/// An institution in the roster snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Institution {
    /// Registry id.
    pub id: String,
    /// District code (行政区划代码).
    pub district: String,
    /// Facts the sampling policy reads (credit level, grade, hazards last year …).
    #[serde(default)]
    pub facts: BTreeMap<String, serde_json::Value>,
}

/// An inspector in the roster snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspector {
    /// Registry id.
    pub id: String,
    /// District code where the inspector works.
    pub district: String,
    /// Institutions the inspector used to work for.
    #[serde(default)]
    pub past_employers: Vec<String>,
    /// Institutions with which the inspector declared a relation.
    #[serde(default)]
    pub relations: Vec<String>,
    /// Institutions the inspector checked in the previous round.
    #[serde(default)]
    pub last_round: Vec<String>,
    /// Whether the inspector can be drawn.
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

/// Everything a draw depends on; all of it public once the draw is published.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DrawInput {
    /// The plan drawn for.
    pub plan: String,
    /// The seed published before the draw (e.g. a future lottery result).
    pub seed: String,
    /// Institutions in scope.
    pub institutions: Vec<Institution>,
    /// Inspector roster.
    pub inspectors: Vec<Inspector>,
}

/// Why an institution was drawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An always-draw rule (focus matter) applies.
    Always(String),
    /// Drawn at random with this weight.
    Random(Num),
    /// Drawn to meet a minimum-coverage rule.
    Cover(String),
}

/// One drawn inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    /// Institution id.
    pub institution: String,
    /// Why it was drawn.
    pub reason: Reason,
    /// Inspector ids, in draw order.
    pub team: Vec<String>,
}

/// A completed draw and the proof that it follows from its inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// Plan.
    pub plan: String,
    /// Seed.
    pub seed: String,
    /// SHA-256 of the institution roster (canonical JSON, sorted by id).
    pub institutions_hash: String,
    /// SHA-256 of the inspector roster.
    pub inspectors_hash: String,
    /// Hash of the sampling policy ruleset.
    pub policy_hash: String,
    /// Institutions in scope and how many were drawn at random.
    pub eligible: usize,
    /// The ordered result.
    pub picks: Vec<Pick>,
    /// Institutions no team could be formed for (too few inspectors after recusal).
    pub unstaffed: Vec<String>,
    /// SHA-256 of the canonical JSON of `picks` and `unstaffed`.
    pub result_hash: String,
}

/// Why a draw could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum DrawError {
    /// The policy is not a compiled sampling policy.
    NotASamplingPolicy,
    /// Two institutions or two inspectors share an id.
    DuplicateId(String),
    /// The seed is empty.
    EmptySeed,
}

impl std::fmt::Display for DrawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DrawError::NotASamplingPolicy => write!(f, "the policy given is not a sampling policy"),
            DrawError::DuplicateId(id) => write!(f, "the roster lists `{id}` twice"),
            DrawError::EmptySeed => write!(f, "the seed is empty; publish a seed before drawing"),
        }
    }
}

impl std::error::Error for DrawError {}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_json<T: Serialize>(v: &T) -> String {
    // serde_json writes struct fields in declaration order and BTreeMap keys sorted: canonical.
    hex(&Sha256::digest(serde_json::to_vec(v).unwrap_or_default()))
}

/// A stream of uniform integers: block k is SHA-256(key ‖ k as 8 big-endian bytes).
struct Stream {
    key: Vec<u8>,
    counter: u64,
}

impl Stream {
    fn new(parts: &[&str]) -> Stream {
        Stream {
            key: parts.join("\n").into_bytes(),
            counter: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut h = Sha256::new();
        h.update(&self.key);
        h.update(self.counter.to_be_bytes());
        self.counter += 1;
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_be_bytes(b)
    }

    /// Uniform in `0..n` by rejection (no modulo bias); `n` > 0.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

fn check_unique<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), DrawError> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(DrawError::DuplicateId(id.to_string()));
        }
    }
    Ok(())
}

/// Whether `inspector` must recuse from `institution` under the policy's recusal rules.
pub fn recused(rules: &[String], inspector: &Inspector, institution: &Institution) -> bool {
    rules.iter().any(|r| match r.as_str() {
        "same_district" => inspector.district == institution.district,
        "past_employer" => inspector.past_employers.contains(&institution.id),
        "declared_relation" => inspector.relations.contains(&institution.id),
        "inspected_last_round" => inspector.last_round.contains(&institution.id),
        _ => false,
    })
}

/// Draws institutions and teams. Rosters are sorted by id first, so their order as given does
/// not matter.
pub fn draw(policy: &Compiled, input: &DrawInput) -> Result<Draw, DrawError> {
    let sp = policy
        .sampling
        .as_ref()
        .ok_or(DrawError::NotASamplingPolicy)?;
    if input.seed.trim().is_empty() {
        return Err(DrawError::EmptySeed);
    }
    let mut insts = input.institutions.clone();
    insts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut inspectors = input.inspectors.clone();
    inspectors.sort_by(|a, b| a.id.cmp(&b.id));
    check_unique(insts.iter().map(|i| i.id.as_str()))?;
    check_unique(inspectors.iter().map(|i| i.id.as_str()))?;
    let institutions_hash = sha256_json(&insts);
    let inspectors_hash = sha256_json(&inspectors);
    let mut stream = Stream::new(&[
        ALGORITHM,
        &input.plan,
        &input.seed,
        &institutions_hash,
        &inspectors_hash,
        &policy.hash,
    ]);

    // Each institution's weight, always-draw and coverage rules, from the policy.
    let outcomes: Vec<eval::SamplingOutcome> = insts
        .iter()
        .map(|i| {
            let raw = RawInput {
                facts: i.facts.clone(),
                ..RawInput::default()
            };
            let o = eval::evaluate(policy, &policy.bind(&raw));
            o.sampling.unwrap_or(eval::SamplingOutcome {
                weight: Num::ONE,
                weights: Vec::new(),
                always: Vec::new(),
                cover: Vec::new(),
            })
        })
        .collect();

    let mut picks: Vec<Pick> = Vec::new();
    let mut taken = vec![false; insts.len()];
    for (k, o) in outcomes.iter().enumerate() {
        if let Some(&a) = o.always.first() {
            taken[k] = true;
            let title = sp.always.get(a).map_or_else(String::new, |x| x.0.clone());
            picks.push(Pick {
                institution: insts[k].id.clone(),
                reason: Reason::Always(title),
                team: Vec::new(),
            });
        }
    }
    // The ratio applies to the whole scope; always-drawn institutions count towards it.
    let target = ceil_share(sp.ratio, insts.len());
    let random_needed = target.saturating_sub(picks.len());
    draw_weighted(
        &mut stream,
        &outcomes,
        &mut taken,
        random_needed,
        None,
        |k, w| {
            picks.push(Pick {
                institution: insts[k].id.clone(),
                reason: Reason::Random(w),
                team: Vec::new(),
            });
        },
    );
    for (c, cover) in sp.cover.iter().enumerate() {
        let members: Vec<usize> = (0..insts.len())
            .filter(|&k| outcomes[k].cover.contains(&c))
            .collect();
        let need = ceil_share(cover.share, members.len());
        let have = members.iter().filter(|&&k| taken[k]).count();
        draw_weighted(
            &mut stream,
            &outcomes,
            &mut taken,
            need.saturating_sub(have),
            Some(&members),
            |k, _| {
                picks.push(Pick {
                    institution: insts[k].id.clone(),
                    reason: Reason::Cover(cover.title.clone()),
                    team: Vec::new(),
                });
            },
        );
    }

    // Teams: for each pick in order, the least-loaded eligible inspectors, ties broken at random.
    let mut load = vec![0usize; inspectors.len()];
    let mut unstaffed = Vec::new();
    let by_id: BTreeMap<&str, usize> = insts
        .iter()
        .enumerate()
        .map(|(k, i)| (i.id.as_str(), k))
        .collect();
    for pick in &mut picks {
        let Some(&k) = by_id.get(pick.institution.as_str()) else {
            continue;
        };
        let mut team = Vec::new();
        for _ in 0..sp.team_min {
            match pick_inspector(
                &mut stream,
                &sp.recuse,
                &inspectors,
                &insts[k],
                &load,
                &team,
            ) {
                Some(j) => {
                    load[j] += 1;
                    team.push(j);
                }
                None => break,
            }
        }
        if team.len() < sp.team_min as usize {
            for &j in &team {
                load[j] -= 1;
            }
            unstaffed.push(pick.institution.clone());
            continue;
        }
        pick.team = team.iter().map(|&j| inspectors[j].id.clone()).collect();
    }
    let result_hash = sha256_json(&(&picks, &unstaffed));
    Ok(Draw {
        algorithm: ALGORITHM.to_string(),
        plan: input.plan.clone(),
        seed: input.seed.clone(),
        institutions_hash,
        inspectors_hash,
        policy_hash: policy.hash.clone(),
        eligible: insts.len(),
        picks,
        unstaffed,
        result_hash,
    })
}

/// ⌈share × n⌉ in exact arithmetic.
fn ceil_share(share: Num, n: usize) -> usize {
    let prod = i128::from(share.raw()) * n as i128;
    let scale = i128::from(Num::ONE.raw());
    ((prod + scale - 1) / scale).max(0) as usize
}

/// Weighted sampling without replacement: each round draws an integer below the total remaining
/// weight (in ten-thousandths) and takes the institution whose interval contains it.
fn draw_weighted(
    stream: &mut Stream,
    outcomes: &[eval::SamplingOutcome],
    taken: &mut [bool],
    n: usize,
    among: Option<&[usize]>,
    mut take: impl FnMut(usize, Num),
) {
    let pool: Vec<usize> = match among {
        Some(m) => m.to_vec(),
        None => (0..outcomes.len()).collect(),
    };
    for _ in 0..n {
        let weights: Vec<(usize, u64)> = pool
            .iter()
            .filter(|&&k| !taken[k])
            .map(|&k| (k, outcomes[k].weight.raw().max(1) as u64))
            .collect();
        let total: u64 = weights.iter().map(|w| w.1).sum();
        if total == 0 {
            return;
        }
        let mut r = stream.below(total);
        for (k, w) in weights {
            if r < w {
                taken[k] = true;
                take(k, outcomes[k].weight);
                break;
            }
            r -= w;
        }
    }
}

fn pick_inspector(
    stream: &mut Stream,
    rules: &[String],
    inspectors: &[Inspector],
    inst: &Institution,
    load: &[usize],
    team: &[usize],
) -> Option<usize> {
    let eligible: Vec<usize> = (0..inspectors.len())
        .filter(|&j| {
            inspectors[j].available && !team.contains(&j) && !recused(rules, &inspectors[j], inst)
        })
        .collect();
    let least = eligible.iter().map(|&j| load[j]).min()?;
    let lightest: Vec<usize> = eligible.into_iter().filter(|&j| load[j] == least).collect();
    Some(lightest[stream.below(lightest.len() as u64) as usize])
}

/// Recomputes a published draw from its inputs; `Ok(())` when it matches bit for bit, otherwise
/// the first difference.
pub fn verify(policy: &Compiled, input: &DrawInput, published: &Draw) -> Result<(), String> {
    let again = draw(policy, input).map_err(|e| e.to_string())?;
    let checks = [
        ("algorithm", &again.algorithm, &published.algorithm),
        (
            "institutions_hash",
            &again.institutions_hash,
            &published.institutions_hash,
        ),
        (
            "inspectors_hash",
            &again.inspectors_hash,
            &published.inspectors_hash,
        ),
        ("policy_hash", &again.policy_hash, &published.policy_hash),
        ("result_hash", &again.result_hash, &published.result_hash),
    ];
    for (what, a, b) in checks {
        if a != b {
            return Err(format!("{what} differs: recomputed {a}, published {b}"));
        }
    }
    if again != *published {
        return Err("the published picks differ from the recomputed ones".into());
    }
    Ok(())
}

/// Replaces an inspector who became unavailable, reproducibly: the replacement stream is keyed by
/// the draw's result hash, the institution, the inspector leaving and how many replacements the
/// pick has had, so the redraw can be verified like the draw.
pub fn replace(
    policy: &Compiled,
    input: &DrawInput,
    published: &Draw,
    institution: &str,
    leaving: &str,
    nth: u32,
) -> Option<String> {
    let sp = policy.sampling.as_ref()?;
    let pick = published
        .picks
        .iter()
        .find(|p| p.institution == institution)?;
    let inst = input.institutions.iter().find(|i| i.id == institution)?;
    let mut inspectors = input.inspectors.clone();
    inspectors.sort_by(|a, b| a.id.cmp(&b.id));
    let mut load = vec![0usize; inspectors.len()];
    for p in &published.picks {
        for m in &p.team {
            if let Some(j) = inspectors.iter().position(|i| &i.id == m) {
                load[j] += 1;
            }
        }
    }
    let team: Vec<usize> = pick
        .team
        .iter()
        .filter_map(|m| inspectors.iter().position(|i| &i.id == m))
        .collect();
    let mut stream = Stream::new(&[
        ALGORITHM,
        "replace",
        &published.result_hash,
        institution,
        leaving,
        &nth.to_string(),
    ]);
    let j = pick_inspector(&mut stream, &sp.recuse, &inspectors, inst, &load, &team)?;
    Some(inspectors[j].id.clone())
}

mod verify_files;
pub use verify_files::verify_files;

#[cfg(test)]
mod tests;
