//! Inputs the fuzz targets in `fuzz/` found (`cargo xtask fuzz`), minimised, each with the
//! invariant it broke. See docs/reliability.md, "Fuzzing".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_model::limits::{MAX_FILTER_BYTES, MAX_FILTER_TERMS};
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

/// Target `filter`, crash-a268ec87d127a89484286eaaadc029336614dec6 (4096 bytes of
/// `mand eq <digits>` terms), reduced by hand to `a eq ` and 4091 `b`s: a filter within
/// [`MAX_FILTER_BYTES`] whose printed form is longer than the limit, because the printer
/// quotes unquoted values (and spells numbers past `u64` out as floats), so the printed form
/// is refused. Nothing re-parses a printed filter today (the directory parses the client's
/// text); this pins the invariant that does hold: the printed form parses back to the same
/// filter, or it is refused for its length and nothing else.
#[test]
fn a_filter_at_the_byte_limit_can_print_past_it() {
    for input in [
        format!("a eq {}", "b".repeat(MAX_FILTER_BYTES - 5)),
        format!("a eq {}", "b".repeat(MAX_FILTER_BYTES - 6)),
        "mand eq 54834400000553259595 and ".repeat(MAX_FILTER_TERMS - 1) + "a pr",
    ] {
        assert!(input.len() <= MAX_FILTER_BYTES);
        let filter = parse_filter(&input).unwrap();
        let printed = filter.to_string();
        match parse_filter(&printed) {
            Ok(reparsed) => assert_eq!(reparsed, filter, "{printed:?}"),
            Err(ScimError::InvalidFilter(detail)) if printed.len() > MAX_FILTER_BYTES => {
                assert!(detail.contains("bytes long"), "{detail}");
            }
            Err(error) => panic!(
                "{} bytes printed to {} bytes: {error}",
                input.len(),
                printed.len()
            ),
        }
    }
}
