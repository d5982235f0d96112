//! RFC 9865 cursor pagination: opaque cursors bound to the query they page.
//!
//! A cursor carries the position of the next page and a fingerprint of the
//! query (filter, sort). The server keeps no state, so a cursor never expires
//! (RFC 9865 only asks that it live at least `cursorTimeout`), and a cursor
//! replayed against a different query is refused with `invalidCursor` rather
//! than silently paging something else.

use crate::error::ScimError;

const CURSOR_PREFIX: &str = "c1.";

/// The part of a list query a cursor is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryShape<'a> {
    pub resource_type: &'a str,
    pub filter: &'a str,
    pub sort_by: &'a str,
    pub descending: bool,
}

impl QueryShape<'_> {
    /// FNV-1a over the query's parts: stable across processes and releases,
    /// which `std`'s hasher is not.
    fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &mut dyn Iterator<Item = u8>| {
            // A separator after each part keeps ("ab", "c") apart from ("a", "bc").
            for byte in bytes.chain(std::iter::once(0xff)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(&mut self.resource_type.bytes());
        feed(&mut self.filter.trim().bytes());
        feed(&mut self.sort_by.bytes().map(|b| b.to_ascii_lowercase()));
        feed(&mut std::iter::once(u8::from(self.descending)));
        hash
    }
}

/// The zero-based offset of the page a cursor points at.
pub fn encode_cursor(shape: &QueryShape<'_>, offset: u64) -> String {
    format!("{CURSOR_PREFIX}{offset:x}.{:016x}", shape.fingerprint())
}

/// Decodes a cursor issued by [`encode_cursor`] for the same query shape.
pub fn decode_cursor(shape: &QueryShape<'_>, cursor: &str) -> Result<u64, ScimError> {
    let invalid = || {
        ScimError::InvalidCursor(format!(
            "cursor {} was not issued by this server",
            crate::limits::quoted_prefix(cursor)
        ))
    };
    let body = cursor.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    let (offset, fingerprint) = body.split_once('.').ok_or_else(invalid)?;
    let offset = u64::from_str_radix(offset, 16)
        .ok()
        .filter(|offset| *offset <= crate::limits::MAX_START_INDEX)
        .ok_or_else(invalid)?;
    let fingerprint = u64::from_str_radix(fingerprint, 16).map_err(|_| invalid())?;
    if fingerprint != shape.fingerprint() {
        return Err(ScimError::InvalidCursor(
            "the cursor belongs to a different query (filter, sortBy or sortOrder changed)".into(),
        ));
    }
    Ok(offset)
}

/// `nextCursor` and `previousCursor` for a page starting at `offset`.
pub fn neighbour_cursors(
    shape: &QueryShape<'_>,
    offset: u64,
    page_len: u64,
    count: u64,
    total: u64,
) -> (Option<String>, Option<String>) {
    let next_offset = offset.saturating_add(page_len);
    let next = (page_len > 0 && next_offset < total).then(|| encode_cursor(shape, next_offset));
    let previous = (offset > 0).then(|| encode_cursor(shape, offset.saturating_sub(count.max(1))));
    (next, previous)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shape(filter: &str) -> QueryShape<'_> {
        QueryShape {
            resource_type: "User",
            filter,
            sort_by: "userName",
            descending: false,
        }
    }

    #[test]
    fn cursors_round_trip_for_the_same_query() {
        let cursor = encode_cursor(&shape("active eq true"), 200);
        assert_eq!(decode_cursor(&shape("active eq true"), &cursor), Ok(200));
        let sort_case = QueryShape {
            sort_by: "USERNAME",
            ..shape("active eq true")
        };
        assert_eq!(decode_cursor(&sort_case, &cursor), Ok(200));
    }

    #[test]
    fn cursors_are_refused_for_other_queries_or_garbage() {
        let cursor = encode_cursor(&shape("active eq true"), 5);
        for other in [
            shape("active eq false"),
            QueryShape {
                descending: true,
                ..shape("active eq true")
            },
            QueryShape {
                resource_type: "Group",
                ..shape("active eq true")
            },
        ] {
            assert!(matches!(
                decode_cursor(&other, &cursor),
                Err(ScimError::InvalidCursor(_))
            ));
        }
        for garbage in ["", "abc", "c1.zz.00", "c1.5", "c1.5.xyz"] {
            assert!(matches!(
                decode_cursor(&shape(""), garbage),
                Err(ScimError::InvalidCursor(_))
            ));
        }
    }

    #[test]
    fn neighbours_stop_at_the_ends() {
        let s = shape("");
        let (next, previous) = neighbour_cursors(&s, 0, 10, 10, 25);
        assert_eq!(decode_cursor(&s, &next.unwrap()), Ok(10));
        assert_eq!(previous, None);
        let (next, previous) = neighbour_cursors(&s, 20, 5, 10, 25);
        assert_eq!(next, None);
        assert_eq!(decode_cursor(&s, &previous.unwrap()), Ok(10));
    }
}
