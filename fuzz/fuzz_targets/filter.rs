//! bytes → `parse_filter`; every accepted filter must validate or be refused cleanly, print
//! to a form that parses back to the same tree, evaluate, and compile to SQL whose
//! placeholders all have a parameter.
#![no_main]

/// The SQL compiler of the directory service, as it is built there.
#[allow(dead_code)]
#[path = "../../crates/directory-service/src/filter_sql/mod.rs"]
mod filter_sql;
mod fixtures;

use filter_sql::{FilterTarget, compile_filter};
use libfuzzer_sys::fuzz_target;
use scim_model::limits::MAX_FILTER_BYTES;
use scim_model::{ScimError, matches, parse_filter, schema, validate_filter};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = parse_filter(text) else {
        return;
    };
    let _ = validate_filter(&filter, schema::user());
    let _ = validate_filter(&filter, schema::group());

    let printed = filter.to_string();
    match parse_filter(&printed) {
        Ok(reparsed) => assert_eq!(
            reparsed, filter,
            "the printed form {printed:?} of {text:?} parses to a different filter"
        ),
        // The printer quotes unquoted values and spells numbers out, so a filter near the
        // byte limit can print longer than the limit; then only the length check may refuse
        // it (`a_filter_at_the_byte_limit_can_print_past_it` in fuzz_regressions.rs).
        Err(ScimError::InvalidFilter(_)) if printed.len() > MAX_FILTER_BYTES => {}
        Err(error) => panic!("the printed form {printed:?} of {text:?} does not parse: {error}"),
    }

    let _ = matches(&filter, &fixtures::USER, schema::user());
    let _ = matches(&filter, &fixtures::GROUP, schema::group());

    for target in [FilterTarget::Users, FilterTarget::Groups] {
        let first = 3;
        if let Ok(sql) = compile_filter(&filter, target, first) {
            check_placeholders(&sql.sql, first, sql.params.len());
        }
    }
});

/// Every `$n` in the SQL names a bound parameter: `first <= n < first + count`.
fn check_placeholders(sql: &str, first: usize, count: usize) {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        match digits.parse::<usize>() {
            Ok(n) if n >= first && n < first + count => {}
            _ => panic!("placeholder ${digits} without a parameter ({count} from ${first}): {sql}"),
        }
    }
}
