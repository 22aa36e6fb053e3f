//! JSON string literals as events write them: escaped exactly as `serde_json` escapes them, except
//! that U+FFFE and U+FFFF are escaped too, because SQS refuses them raw.

/// True when `bytes` hold U+FFFE or U+FFFF (`EF BF BE`, `EF BF BF`): characters SQS refuses in
/// a message ("#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"), so
/// events never carry them raw.
pub fn has_refused_character(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"\xEF\xBF")
        .any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
}

/// Appends `s` to `out` as a JSON string literal, escaped exactly as `serde_json` does (a test
/// checks), except that U+FFFE and U+FFFF are escaped too ([`has_refused_character`]): runs
/// without a quote, a backslash or a control character are found 16 bytes at a time and copied
/// whole.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    if has_refused_character(s.as_bytes()) {
        let mut rest = s;
        while let Some(at) = rest.find(['\u{FFFE}', '\u{FFFF}']) {
            write_json_str_body(out, &rest[..at]);
            let refused = rest[at..].chars().next().unwrap_or_default();
            out.extend_from_slice(if refused == '\u{FFFE}' {
                b"\\ufffe"
            } else {
                b"\\uffff"
            });
            rest = &rest[at + refused.len_utf8()..];
        }
        write_json_str_body(out, rest);
    } else {
        write_json_str_body(out, s);
    }
    out.push(b'"');
}

/// The escaped characters of a JSON string, without the quotes.
fn write_json_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        i += super::scan::plain_len(&bytes[i..]);
        if i == bytes.len() {
            break;
        }
        out.extend_from_slice(&bytes[copied..i]);
        write_escape(out, bytes[i]);
        i += 1;
        copied = i;
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// The escape of a quote, a backslash or a control character, in `serde_json`'s forms.
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn strings_are_escaped_as_serde_json_does(
            text in prop_oneof![
                "[a-z\"\\\\\u{0}-\u{1f}\u{7f}\u{e9}\u{2028}\u{1F600}/]{0,40}",
                any::<String>(),
            ]
        ) {
            let mut ours = b"x".to_vec();
            write_json_str(&mut ours, &text);
            let theirs = serde_json::to_string(&text)
                .unwrap()
                .replace('\u{FFFE}', "\\ufffe")
                .replace('\u{FFFF}', "\\uffff");
            prop_assert_eq!(&ours[1..], theirs.as_bytes());
            prop_assert!(!has_refused_character(&ours));
            prop_assert_eq!(serde_json::from_slice::<String>(&ours[1..]).unwrap(), text);
        }
    }
}
