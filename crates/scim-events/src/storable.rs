//! The last check before an event enters the stream: its JSON must hold no text a read model
//! cannot store. The gateway validates every request against `scim_model::limits` first and
//! answers with the attribute's name; this guard is what still holds if a code path ever
//! forgets to, because the stream is immutable and an unstorable event would stall every
//! projection behind it.

/// The offset of the first JSON string escape that encodes a C0 control character other
/// than tab, LF and CR (`\u0000`–`\u001f`), or of a raw DEL byte, in serialised JSON.
/// serde_json writes those controls only as `\u00XX` escapes, so a scan of the bytes finds
/// them without parsing the document again.
pub fn first_unstorable(json: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&byte) = json.get(i) {
        match byte {
            0x7f => return Some(i),
            b'\\' => {
                if json.get(i + 1) == Some(&b'u')
                    && let Some(code) = json.get(i + 2..i + 6).and_then(hex4)
                    && code < 0x20
                    && !matches!(code, 0x09 | 0x0a | 0x0d)
                {
                    return Some(i);
                }
                // Skip the escaped character, so `\\u0000` (an escaped backslash) is text.
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

fn hex4(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| u32::from_str_radix(text, 16).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn json(value: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "title": value })).unwrap()
    }

    #[test]
    fn finds_escaped_controls_and_nothing_else() {
        assert!(first_unstorable(&json("x\u{0}y")).is_some());
        assert!(first_unstorable(&json("\u{1f}")).is_some());
        assert!(first_unstorable(&json("\u{7f}")).is_some());
        assert_eq!(first_unstorable(&json("tab\tline\ncr\r")), None);
        assert_eq!(first_unstorable(&json("literal \\u0000 text")), None);
        assert_eq!(first_unstorable(&json("é ü \u{2028} 😀")), None);
    }
}
