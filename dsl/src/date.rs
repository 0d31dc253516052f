//! Calendar dates as day numbers, with the calendar arithmetic look-back windows need.

use crate::ast::{Date, DurationUnit};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(Date(era * 146_097 + doe as i32 - 719_468))
}

/// Year, month, day of a day number.
pub fn to_ymd(date: Date) -> (i32, u32, u32) {
    let z = date.0 + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = text.get(0..4)?.parse().ok()?;
    let m = text.get(5..7)?.parse().ok()?;
    let d = text.get(8..10)?.parse().ok()?;
    from_ymd(y, m, d)
}

/// Formats as `YYYY-MM-DD`.
pub fn format(date: Date) -> String {
    let (y, m, d) = to_ymd(date);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `date` shifted by `amount` units; month and year steps clamp the day to the month's end
/// (2024-02-29 minus one year is 2023-02-28), as people count anniversaries.
pub fn shift(date: Date, amount: i64, unit: DurationUnit) -> Date {
    match unit {
        DurationUnit::Days => Date(
            date.0
                .saturating_add(amount.clamp(-3_000_000, 3_000_000) as i32),
        ),
        DurationUnit::Months | DurationUnit::Years => {
            let months = if unit == DurationUnit::Years {
                amount.saturating_mul(12)
            } else {
                amount
            };
            let (y, m, d) = to_ymd(date);
            let total = i64::from(y) * 12 + i64::from(m - 1) + months;
            let ny = total.div_euclid(12).clamp(1, 9999) as i32;
            let nm = total.rem_euclid(12) as u32 + 1;
            from_ymd(ny, nm, d.min(days_in_month(ny, nm))).unwrap_or(date)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("1970-01-01", 0)]
    #[case("2000-03-01", 11_017)]
    #[case("2026-11-23", 20_780)]
    fn round_trips(#[case] text: &str, #[case] days: i32) {
        assert_eq!(parse(text), Some(Date(days)));
        assert_eq!(format(Date(days)), text);
    }

    #[rstest]
    #[case("2023-02-29")]
    #[case("2024-13-01")]
    #[case("2024-1-01")]
    #[case("0000-01-01")]
    fn refuses_invalid(#[case] text: &str) {
        assert_eq!(parse(text), None);
    }

    #[rstest]
    #[case("2024-02-29", -1, DurationUnit::Years, "2023-02-28")]
    #[case("2026-03-31", -1, DurationUnit::Months, "2026-02-28")]
    #[case("2026-01-10", -10, DurationUnit::Days, "2025-12-31")]
    fn shifts_by_calendar(
        #[case] from: &str,
        #[case] n: i64,
        #[case] unit: DurationUnit,
        #[case] to: &str,
    ) {
        let d = parse(from).expect("date");
        assert_eq!(format(shift(d, n, unit)), to);
    }
}
