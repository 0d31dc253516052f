//! `caregrade draw verify POLICY.rules INPUT.json DRAW.json`: anyone holding the published
//! policy, roster snapshot and seed can recompute a draw and compare it with the published one.

use crate::{Draw, DrawInput, verify};
use caregrade_dsl::tool::{self, Output};
use std::path::Path;

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Recomputes the draw in `draw` from `policy` and `input`; exit 0 when it matches bit for bit,
/// 1 when it does not (saying where), 2 when a file cannot be read or the policy does not compile.
pub fn verify_files(policy: &Path, input: &Path, draw: &Path) -> Output {
    let fail = |code: u8, msg: String| Output {
        stderr: format!("error: {msg}\n"),
        code,
        ..Output::default()
    };
    let (lib, targets, errors) = tool::load(&[policy.to_path_buf()]);
    if let Some(e) = errors.first() {
        return fail(2, e.clone());
    }
    let Some(&file) = targets.first() else {
        return fail(2, format!("{}: no policy", policy.display()));
    };
    let Some(compiled) = lib.compile_file(file).compiled else {
        return fail(
            2,
            format!(
                "{}: the policy does not compile (run `caregrade rules check`)",
                policy.display()
            ),
        );
    };
    let (input, published): (DrawInput, Draw) = match (read_json(input), read_json(draw)) {
        (Ok(i), Ok(d)) => (i, d),
        (Err(e), _) | (_, Err(e)) => return fail(2, e),
    };
    match verify(&compiled, &input, &published) {
        Ok(()) => Output {
            stdout: format!(
                "draw verified: {} pick(s) for plan {} recomputed from seed {:?}\nresult {}\n",
                published.picks.len(),
                published.plan,
                published.seed,
                published.result_hash
            ),
            ..Output::default()
        },
        Err(e) => fail(1, format!("the draw does not verify: {e}")),
    }
}
