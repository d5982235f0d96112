//! bytes → `decode_cursor`: any accepted offset is within `MAX_START_INDEX`; and for an
//! offset taken from the input, `encode_cursor` → `decode_cursor` gives it back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_model::limits::MAX_START_INDEX;
use scim_model::{QueryShape, decode_cursor, encode_cursor};

const SHAPE: QueryShape<'static> = QueryShape {
    resource_type: "User",
    filter: "userName sw \"b\"",
    sort_by: "userName",
    descending: false,
};

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&data[..8]);
        let offset = u64::from_le_bytes(raw).min(MAX_START_INDEX);
        let cursor = encode_cursor(&SHAPE, offset);
        assert_eq!(
            decode_cursor(&SHAPE, &cursor),
            Ok(offset),
            "cursor {cursor:?}"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offset) = decode_cursor(&SHAPE, text) {
        assert!(
            offset <= MAX_START_INDEX,
            "cursor {text:?} decoded to {offset}"
        );
    }
});
