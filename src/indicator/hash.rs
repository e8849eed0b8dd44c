//! File hashes and the `filename|hash` composites (freetext.md §5.1, §5.2).
//!
//! Hex hashes are typed by length alone, as MISP does: 32 hex digits are `md5` even when they
//! are an imphash or a JA3 fingerprint. Hex digits are stored lower-case; ssdeep hashes are
//! case-sensitive base64 and kept as written.

use super::{AttrType, RejectReason};

/// The single hash type MISP's free-text import gives a hex string of this length.
pub(super) fn hex_type(len: usize) -> Option<AttrType> {
    Some(match len {
        32 => AttrType::Md5,
        40 => AttrType::Sha1,
        56 => AttrType::Sha224,
        64 => AttrType::Sha256,
        96 => AttrType::Sha384,
        128 => AttrType::Sha512,
        _ => return None,
    })
}

/// The `filename|hash` type for a hex hash of this length.
pub(super) fn filename_hex_type(len: usize) -> Option<AttrType> {
    Some(match len {
        32 => AttrType::FilenameMd5,
        40 => AttrType::FilenameSha1,
        56 => AttrType::FilenameSha224,
        64 => AttrType::FilenameSha256,
        96 => AttrType::FilenameSha384,
        128 => AttrType::FilenameSha512,
        _ => return None,
    })
}

/// The exact hex length of a hex-only hash type, `None` for other types.
pub(super) fn hex_len(kind: AttrType) -> Option<usize> {
    Some(match kind {
        AttrType::Md5 | AttrType::Imphash | AttrType::Ja3FingerprintMd5 | AttrType::FilenameMd5 => {
            32
        }
        AttrType::Sha1 | AttrType::X509FingerprintSha1 | AttrType::FilenameSha1 => 40,
        AttrType::Sha224 | AttrType::FilenameSha224 => 56,
        AttrType::Sha256 | AttrType::X509FingerprintSha256 | AttrType::FilenameSha256 => 64,
        AttrType::JarmFingerprint => 62,
        AttrType::Sha384 | AttrType::FilenameSha384 => 96,
        AttrType::Sha512 | AttrType::FilenameSha512 => 128,
        _ => return None,
    })
}

/// Whether every byte is a hex digit (either case) and there is at least one.
pub(super) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` is an ssdeep hash: `blocksize:base64:base64`, and not a clock time.
pub(super) fn is_ssdeep(s: &str) -> bool {
    let mut parts = s.split(':');
    let (Some(size), Some(a), Some(b), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let is_b64 = |p: &str| {
        !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    let clock = [size, a, b].iter().all(|p| all_digits(p) && p.len() <= 2);
    all_digits(size) && is_b64(a) && is_b64(b) && !clock
}

/// MISP's "looks like a file name" (§5.2): a drive-like `x:` start or a dot after the first
/// character, and a last dot-part that is ASCII alphanumeric and not a number.
pub(super) fn looks_like_filename(s: &str) -> bool {
    let mut chars = s.chars();
    let drive = chars.next().is_some() && chars.next() == Some(':');
    let inner_dot = s.find('.').is_some_and(|i| i > 0);
    if !drive && !inner_dot {
        return false;
    }
    let ext = s.rsplit('.').next().unwrap_or(s);
    !ext.is_empty()
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && !ext.bytes().all(|b| b.is_ascii_digit())
}

/// Classifies `filename|hash` (freetext.md §5 rules 2a, 2b). Returns the type and the
/// canonical value (file name untouched, hex lower-cased).
pub(super) fn classify_filename_hash(raw: &str) -> Option<(AttrType, String)> {
    let (name, hash) = raw.split_once('|')?;
    if hash.contains('|') || !looks_like_filename(name) {
        return None;
    }
    if is_hex(hash) {
        let kind = filename_hex_type(hash.len())?;
        return Some((kind, format!("{name}|{}", hash.to_ascii_lowercase())));
    }
    is_ssdeep(hash).then(|| (AttrType::FilenameSsdeep, raw.to_owned()))
}

/// Validates a value of a known hash type and writes it as MISP stores it.
pub(super) fn normalize_hash(kind: AttrType, s: &str) -> Result<String, RejectReason> {
    match kind {
        AttrType::Ssdeep => is_ssdeep(s).then(|| s.to_owned()).ok_or(RejectReason::InvalidHash),
        AttrType::Tlsh => {
            // TLSH digests are 70 hex digits, or 72 with the version prefix `T1`.
            let body = s.strip_prefix("T1").or_else(|| s.strip_prefix("t1")).unwrap_or(s);
            (is_hex(body) && body.len() == 70)
                .then(|| s.to_ascii_lowercase())
                .ok_or(RejectReason::InvalidHash)
        }
        AttrType::X509FingerprintSha1 | AttrType::X509FingerprintSha256 => {
            let hex: String = s.chars().filter(|&c| c != ':').collect();
            check_hex(kind, &hex).map(|()| hex.to_ascii_lowercase())
        }
        AttrType::FilenameMd5
        | AttrType::FilenameSha1
        | AttrType::FilenameSha224
        | AttrType::FilenameSha256
        | AttrType::FilenameSha384
        | AttrType::FilenameSha512
        | AttrType::FilenameSsdeep => {
            let (name, hash) = s.split_once('|').ok_or(RejectReason::InvalidValue)?;
            if name.is_empty() {
                return Err(RejectReason::InvalidValue);
            }
            let hash = if kind == AttrType::FilenameSsdeep {
                normalize_hash(AttrType::Ssdeep, hash)?
            } else {
                check_hex(kind, hash)?;
                hash.to_ascii_lowercase()
            };
            Ok(format!("{name}|{hash}"))
        }
        _ => check_hex(kind, s).map(|()| s.to_ascii_lowercase()),
    }
}

/// Checks hex digits and the exact length of the type.
fn check_hex(kind: AttrType, s: &str) -> Result<(), RejectReason> {
    let len = hex_len(kind).ok_or(RejectReason::UnsupportedType)?;
    (s.len() == len && is_hex(s)).then_some(()).ok_or(RejectReason::InvalidHash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_hex_strings_by_length() {
        assert_eq!(hex_type(32), Some(AttrType::Md5));
        assert_eq!(hex_type(40), Some(AttrType::Sha1));
        assert_eq!(hex_type(56), Some(AttrType::Sha224));
        assert_eq!(hex_type(64), Some(AttrType::Sha256));
        assert_eq!(hex_type(96), Some(AttrType::Sha384));
        assert_eq!(hex_type(128), Some(AttrType::Sha512));
        assert_eq!(hex_type(33), None);
    }

    #[test]
    fn tells_file_names_as_misp_does() {
        assert!(looks_like_filename("a.exe"));
        assert!(looks_like_filename("archive.tar.gz"));
        assert!(looks_like_filename("ahoj.txt"));
        assert!(!looks_like_filename(".bashrc"));
        assert!(!looks_like_filename("1.2.3"));
        assert!(!looks_like_filename("x.tar-gz"));
        assert!(!looks_like_filename("noext"));
        assert!(!looks_like_filename("trailing."));
    }

    #[test]
    fn recognises_ssdeep_but_not_clock_times() {
        assert!(is_ssdeep("24:VGXGP7L5e/Ixt3af/WKPPaYpzg4m3XWMCsXNCRs0:kYDxcfPZpelCs9Cm0"));
        assert!(!is_ssdeep("12:30:45"));
        assert!(!is_ssdeep("a:b:c"));
        assert!(!is_ssdeep("24:abc"));
        assert!(!is_ssdeep("24:a:b:c"));
    }

    #[test]
    fn lower_cases_the_hash_of_a_filename_composite() {
        assert_eq!(
            classify_filename_hash("Ahoj.txt|9E107D9D372BB6826BD81D3542A419D6"),
            Some((AttrType::FilenameMd5, "Ahoj.txt|9e107d9d372bb6826bd81d3542a419d6".into()))
        );
        assert_eq!(classify_filename_hash("ahoj|9e107d9d372bb6826bd81d3542a419d6"), None);
        assert_eq!(classify_filename_hash("a.txt|9e107d9d"), None);
        assert_eq!(
            classify_filename_hash("a.txt|3:abc:def").map(|(k, _)| k),
            Some(AttrType::FilenameSsdeep)
        );
    }

    #[test]
    fn checks_exact_lengths_for_known_hash_types() {
        let md5 = "9E107D9D372BB6826BD81D3542A419D6";
        assert_eq!(
            normalize_hash(AttrType::Md5, md5).as_deref(),
            Ok("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(normalize_hash(AttrType::Sha1, md5), Err(RejectReason::InvalidHash));
        assert_eq!(
            normalize_hash(AttrType::Md5, "9e107d9d372bb6826bd81d3542a419dg"),
            Err(RejectReason::InvalidHash)
        );
        let jarm = "2ad2ad0002ad2ad00042d42d000000ad9bf51cc3f5a1e29eecb81d0c7b06eb";
        assert_eq!(jarm.len(), 62);
        assert!(normalize_hash(AttrType::JarmFingerprint, jarm).is_ok());
    }

    #[test]
    fn removes_colons_from_x509_fingerprints() {
        let colons = "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09";
        assert_eq!(
            normalize_hash(AttrType::X509FingerprintSha1, colons).as_deref(),
            Ok("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
    }

    #[test]
    fn accepts_tlsh_with_and_without_version_prefix() {
        let body = "a".repeat(70);
        assert!(normalize_hash(AttrType::Tlsh, &body).is_ok());
        assert_eq!(
            normalize_hash(AttrType::Tlsh, &format!("T1{body}")).as_deref(),
            Ok(format!("t1{body}").as_str())
        );
        assert_eq!(normalize_hash(AttrType::Tlsh, "abc"), Err(RejectReason::InvalidHash));
    }
}
