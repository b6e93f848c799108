//! The checksum of a migration: SHA-256 over its normalized text.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Checksum = [u8; 32];

/// The text that is checksummed and executed: the file's content with a
/// leading byte-order mark removed and every CRLF turned into LF, so that a
/// Windows checkout (`core.autocrlf`) does not look like an edit.
pub fn normalize(content: &str) -> Cow<'_, str> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    if content.contains("\r\n") {
        Cow::Owned(content.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(content)
    }
}

/// The checksum of already [normalized](normalize) text.
pub fn checksum(normalized: &str) -> Checksum {
    Sha256::digest(normalized.as_bytes()).into()
}

/// The checksum of a whole set of migrations: SHA-256 over each version (8
/// bytes, little-endian) followed by its checksum, in version order. Two
/// binaries with the same migrations have the same set checksum.
pub fn set_checksum<'a>(migrations: impl IntoIterator<Item = (i64, &'a Checksum)>) -> Checksum {
    let mut hasher = Sha256::new();
    for (version, checksum) in migrations {
        hasher.update(version.to_le_bytes());
        hasher.update(checksum);
    }
    hasher.finalize().into()
}

/// Parses lower- or upper-case hexadecimal, as [`to_hex`] writes it.
pub fn from_hex(hex: &str) -> Option<Checksum> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut checksum = [0u8; 32];
    for (byte, pair) in checksum.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(checksum)
}

/// Lower-case hexadecimal, as stored in the history table.
pub fn to_hex(checksum: &Checksum) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in checksum {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    hex
}

/// Whether `hex` is the hexadecimal form of `checksum`, without allocating.
pub fn matches_hex(checksum: &Checksum, hex: &str) -> bool {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    hex.len() == 64
        && checksum.iter().zip(hex.chunks_exact(2)).all(|(byte, pair)| {
            matches!((nibble(pair[0]), nibble(pair[1])), (Some(hi), Some(lo)) if hi << 4 | lo == *byte)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_crlf_do_not_change_the_checksum() {
        let unix = checksum(&normalize("CREATE TABLE t (a INT);\nSELECT 1;\n"));
        let windows = checksum(&normalize(
            "\u{feff}CREATE TABLE t (a INT);\r\nSELECT 1;\r\n",
        ));
        assert_eq!(unix, windows);
        assert_ne!(unix, checksum(&normalize("CREATE TABLE t (a INT);\n")));
    }

    #[test]
    fn the_algorithm_is_plain_sha256() {
        // Pinned: changing it would make every applied migration look edited.
        assert_eq!(
            to_hex(&checksum("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_set_checksum_covers_versions_and_checksums_in_order() {
        let (a, b) = (checksum("SELECT 1;"), checksum("SELECT 2;"));
        let set = set_checksum([(1, &a), (2, &b)]);
        assert_eq!(set, set_checksum([(1, &a), (2, &b)]));
        assert_ne!(set, set_checksum([(1, &a), (3, &b)]));
        assert_ne!(set, set_checksum([(1, &b), (2, &a)]));
        assert_ne!(set, set_checksum([(1, &a)]));
        assert_eq!(from_hex(&to_hex(&set)), Some(set));
        assert_eq!(from_hex("xyz"), None);
    }

    #[test]
    fn hex_round_trip() {
        let sum = checksum("SELECT 1;");
        assert!(matches_hex(&sum, &to_hex(&sum)));
        assert!(matches_hex(&sum, &to_hex(&sum).to_uppercase()));
        assert!(!matches_hex(&sum, &to_hex(&checksum("SELECT 2;"))));
        assert!(!matches_hex(&sum, "abc"));
    }
}
