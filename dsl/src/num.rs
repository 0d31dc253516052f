//! Exact fixed-point numbers for points, ratios and counts.
//!
//! Points on Chinese scoring sheets come in tiers such as 2 / 1 / 0.5, and a total of exactly
//! 900 must meet a threshold of ≥ 900. Binary floating point cannot promise either, so every
//! number in the language is an integer count of ten-thousandths.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Number of fractional decimal digits a [`Num`] keeps.
pub const DECIMALS: u32 = 4;
const SCALE: i64 = 10_i64.pow(DECIMALS);

/// A fixed-point decimal with four fractional digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Num(i64);

impl Num {
    /// Zero.
    pub const ZERO: Num = Num(0);
    /// One.
    pub const ONE: Num = Num(SCALE);
    /// The largest representable value, used as "no upper bound" in range analysis.
    pub const MAX: Num = Num(i64::MAX / 4);
    /// The smallest representable value, used as "no lower bound" in range analysis.
    pub const MIN: Num = Num(-(i64::MAX / 4));

    /// The number `n` (an integer).
    pub const fn int(n: i64) -> Num {
        Num(n.saturating_mul(SCALE))
    }

    /// The raw count of ten-thousandths.
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// Builds a number from a raw count of ten-thousandths.
    pub const fn from_raw(raw: i64) -> Num {
        Num(raw)
    }

    /// Parses a decimal literal such as `-12.5`; `None` when malformed, out of range, or with
    /// more than four fractional digits.
    pub fn parse(text: &str) -> Option<Num> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() || frac_part.len() > DECIMALS as usize {
            return None;
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = int_part.parse().ok()?;
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().ok()?
        };
        for _ in frac_part.len()..DECIMALS as usize {
            frac *= 10;
        }
        let raw = whole.checked_mul(SCALE)?.checked_add(frac)?;
        if raw > Num::MAX.0 {
            return None;
        }
        Some(Num(if neg { -raw } else { raw }))
    }

    /// Whether the number has no fractional part.
    pub const fn is_integer(self) -> bool {
        self.0 % SCALE == 0
    }

    /// The integer part, truncated toward zero.
    pub const fn trunc_int(self) -> i64 {
        self.0 / SCALE
    }

    /// Sum, saturating at the representable bounds.
    pub fn plus(self, o: Num) -> Num {
        Num(self.0.saturating_add(o.0).clamp(Num::MIN.0, Num::MAX.0))
    }

    /// Difference, saturating at the representable bounds.
    pub fn minus(self, o: Num) -> Num {
        Num(self.0.saturating_sub(o.0).clamp(Num::MIN.0, Num::MAX.0))
    }

    /// Product, rounded half away from zero to four decimals, saturating.
    pub fn times(self, o: Num) -> Num {
        // Points times counts fit in 64 bits; 128-bit division is the slow path.
        if let Some(p) = self.0.checked_mul(o.0) {
            let (q, r) = (p / SCALE, p % SCALE);
            let q = if 2 * r.abs() >= SCALE {
                q + p.signum()
            } else {
                q
            };
            return Num(q.clamp(Num::MIN.0, Num::MAX.0));
        }
        let p = i128::from(self.0) * i128::from(o.0);
        Num(saturate(round_div(p, i128::from(SCALE))))
    }

    /// Quotient, rounded half away from zero to four decimals; `None` when dividing by zero.
    pub fn checked_div(self, o: Num) -> Option<Num> {
        if o.0 == 0 {
            return None;
        }
        let n = i128::from(self.0) * i128::from(SCALE);
        Some(Num(saturate(round_div(n, i128::from(o.0)))))
    }

    /// `self` clamped to `[lo, hi]`.
    pub fn clamp_to(self, lo: Num, hi: Num) -> Num {
        if self < lo {
            lo
        } else if self > hi {
            hi
        } else {
            self
        }
    }
}

fn round_div(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        if (n < 0) != (d < 0) { q - 1 } else { q + 1 }
    } else {
        q
    }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i128::from(Num::MIN.0), i128::from(Num::MAX.0)) as i64
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let s = SCALE as u64;
        let (whole, frac) = (a / s, a % s);
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let mut digits = format!("{frac:04}");
        while digits.ends_with('0') {
            digits.pop();
        }
        write!(f, "{sign}{whole}.{digits}")
    }
}

impl fmt::Debug for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Serialised as a JSON number when it is an integer and as a decimal string-free JSON number
/// otherwise (`2`, `0.5`); the text form is exact because it has at most four decimals.
impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_integer() {
            s.serialize_i64(self.trunc_int())
        } else {
            // Exact: at most four decimals, printed and reparsed by serde_json as a decimal.
            let v: serde_json::Number = self
                .to_string()
                .parse()
                .map_err(|_| serde::ser::Error::custom("unrepresentable number"))?;
            v.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        let v = serde_json::Number::deserialize(d)?;
        Num::from_json(&v).ok_or_else(|| {
            serde::de::Error::custom(format!("{v} is not a number with at most 4 decimals"))
        })
    }
}

impl Num {
    /// Converts a JSON number exactly; `None` when it has more than four decimals or is too big.
    pub fn from_json(v: &serde_json::Number) -> Option<Num> {
        if let Some(i) = v.as_i64() {
            return (i.unsigned_abs() <= (Num::MAX.0 / SCALE) as u64).then(|| Num::int(i));
        }
        // serde_json prints floats with the shortest round-trip representation, so "0.5" stays
        // "0.5"; exponents are refused rather than guessed.
        Num::parse(&v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0", 0)]
    #[case("2", 20_000)]
    #[case("0.5", 5_000)]
    #[case("-1.25", -12_500)]
    #[case("900.0001", 9_000_001)]
    fn parses_exactly(#[case] text: &str, #[case] raw: i64) {
        assert_eq!(Num::parse(text), Some(Num::from_raw(raw)));
        assert_eq!(
            Num::parse(text).map(|n| n.to_string().parse::<f64>().ok()),
            Some(text.parse::<f64>().ok())
        );
    }

    #[rstest]
    #[case("1.00001")]
    #[case("")]
    #[case(".5")]
    #[case("1e3")]
    #[case("99999999999999999999")]
    fn refuses_inexact(#[case] text: &str) {
        assert_eq!(Num::parse(text), None);
    }

    #[test]
    fn tiers_sum_exactly_to_threshold() {
        // 0.1 ten times is exactly 1 here; in f64 it is 0.9999999999999999.
        let tenth = Num::parse("0.1").expect("literal");
        let sum = (0..10).fold(Num::ZERO, |a, _| a.plus(tenth));
        assert_eq!(sum, Num::ONE);
        let total = (0..1800).fold(Num::ZERO, |a, _| {
            a.plus(Num::parse("0.5").expect("literal"))
        });
        assert!(total >= Num::int(900));
    }

    #[rstest]
    #[case("1", "3", "0.3333")]
    #[case("2", "3", "0.6667")]
    #[case("-2", "3", "-0.6667")]
    fn divides_rounding_half_away(#[case] a: &str, #[case] b: &str, #[case] q: &str) {
        let (a, b) = (Num::parse(a).expect("a"), Num::parse(b).expect("b"));
        assert_eq!(a.checked_div(b), Num::parse(q));
    }

    #[rstest]
    #[case("0.5", "3", "1.5")]
    #[case("-0.25", "3", "-0.75")]
    #[case("0.0001", "0.5", "0.0001")]
    #[case("-0.0001", "0.5", "-0.0001")]
    #[case("0.0001", "0.4", "0")]
    #[case("99999999999", "99999999999", "max")]
    #[case("-99999999999", "99999999999", "min")]
    fn multiplies_exactly_or_saturates(#[case] a: &str, #[case] b: &str, #[case] p: &str) {
        let (a, b) = (Num::parse(a).expect("a"), Num::parse(b).expect("b"));
        let want = match p {
            "max" => Num::MAX,
            "min" => Num::MIN,
            _ => Num::parse(p).expect("product"),
        };
        assert_eq!(a.times(b), want);
    }

    #[test]
    fn extremes_saturate_without_panicking() {
        assert_eq!(Num::MAX.times(Num::MAX), Num::MAX);
        assert_eq!(Num::MIN.times(Num::MAX), Num::MIN);
        assert_eq!(Num::MAX.plus(Num::MAX), Num::MAX);
    }

    #[test]
    fn division_by_zero_is_none_not_panic() {
        assert_eq!(Num::ONE.checked_div(Num::ZERO), None);
    }

    #[test]
    fn serialises_as_json_numbers() {
        let v = serde_json::to_string(&[Num::int(2), Num::parse("0.5").expect("literal")])
            .expect("json");
        assert_eq!(v, "[2,0.5]");
        let back: Vec<Num> = serde_json::from_str(&v).expect("parse");
        assert_eq!(back, vec![Num::int(2), Num::parse("0.5").expect("literal")]);
    }
}
