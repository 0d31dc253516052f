//! 统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters from a 31-character
//! alphabet (no I, O, Z, S, V); the last is a check character over the first 17.

/// The code alphabet; a character's index is its value.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1..=17: 3^(i-1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// The check character for the first 17 characters, or `None` if one is not in the alphabet.
pub fn check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in b.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.get(check as usize).map(|&c| c as char)
}

/// Why a credit code is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("a credit code has 18 characters, this one has {0}")]
    Length(usize),
    /// A character outside the alphabet.
    #[error(
        "character {0:?} is not allowed in a credit code (digits and A–Y without I, O, S, V, Z)"
    )]
    Char(char),
    /// The check character does not match.
    #[error("check character is {found:?}, expected {expected:?}")]
    Check {
        /// The 18th character as given.
        found: char,
        /// What GB 32100-2015 computes.
        expected: char,
    },
}

/// Validates a credit code (upper case expected; callers trim and upper-case input first).
pub fn validate(code: &str) -> Result<(), CreditCodeError> {
    let n = code.chars().count();
    if n != 18 {
        return Err(CreditCodeError::Length(n));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !c.is_ascii() || value(*c as u8).is_none())
    {
        return Err(CreditCodeError::Char(bad));
    }
    let (head, last) = code.split_at(17);
    let expected = check_char(head).ok_or(CreditCodeError::Length(n))?;
    let found = last.chars().next().unwrap_or(' ');
    if found != expected {
        return Err(CreditCodeError::Check { found, expected });
    }
    Ok(())
}

/// Completes 17 characters with their check character.
pub fn complete(first17: &str) -> Option<String> {
    check_char(first17).map(|c| format!("{first17}{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_are_valid() {
        // Published codes of large companies (Huawei, Alibaba, China Mobile).
        for code in [
            "914403001922038216",
            "91330100799655058B",
            "91110000802100433B",
        ] {
            assert_eq!(validate(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn wrong_check_and_bad_chars_are_refused() {
        assert_eq!(
            validate("914403001922038217"),
            Err(CreditCodeError::Check {
                found: '7',
                expected: '6'
            })
        );
        assert_eq!(
            validate("91440300192203821I"),
            Err(CreditCodeError::Char('I'))
        );
        assert_eq!(
            validate("9144030019220382"),
            Err(CreditCodeError::Length(16))
        );
        assert!(validate("91440300192203821６").is_err());
    }

    #[test]
    fn complete_makes_valid_codes() {
        let code = complete("52430102MJ1234567").unwrap_or_default();
        assert_eq!(validate(&code), Ok(()));
    }
}
