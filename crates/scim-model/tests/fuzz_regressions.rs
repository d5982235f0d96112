//! Inputs the fuzz targets in `fuzz/` found (`cargo xtask fuzz`), minimised, each with the
//! invariant it broke. See docs/reliability.md, "Fuzzing".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_model::{ScimError, parse_filter};

/// Target `filter`, crash-94182981c6fc4da688741db632558b4baca94321, minimised to `I eq \0`
/// (6 bytes). A control character in an *unquoted* value was accepted (the quoted form
/// `"\u0000"` is refused), so the filter printed to a form that does not parse back, and
/// the value would reach the SQL compiler as a bind parameter Postgres cannot hold (U+0000).
/// Invariant: every accepted filter prints to a form that parses back to the same filter;
/// a value the quoted form refuses is refused unquoted too.
#[test]
fn control_character_in_an_unquoted_value() {
    for input in [
        "I eq \u{0}",
        "externalId eq jyoung\u{0}\u{0}\u{0}",
        "title co \u{7f}",
        "userName eq \"x\" and title eq a\u{1b}b",
        "emails[value eq \u{2}]",
    ] {
        match parse_filter(input) {
            Ok(filter) => {
                let printed = filter.to_string();
                assert_eq!(
                    parse_filter(&printed),
                    Ok(filter),
                    "{input:?} was accepted but its printed form {printed:?} does not parse back"
                );
            }
            Err(error) => assert!(
                matches!(error, ScimError::InvalidFilter(_)),
                "{input:?}: {error:?}"
            ),
        }
    }
}
