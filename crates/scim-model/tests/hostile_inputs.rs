//! The fuzzing invariants (`fuzz/`, docs/reliability.md "Fuzzing") as a short property test
//! in the normal suite: no input panics, nesting and length are refused before they can
//! overflow a stack, and whatever a create accepts passes the limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scim_model::limits::{
    MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_FILTER_TERMS, MAX_INDEXED_STRING_BYTES, check_resource,
};
use scim_model::{
    Filter, ScimError, matches, parse_filter, parse_patch_path, prepare_new_user, schema,
};
use serde_json::{Map, Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any characters, control characters and non-ASCII included.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..120).prop_map(|chars| chars.into_iter().collect())
}

/// Filter-shaped text: the grammar's tokens in any order, with the odd hostile character.
fn filter_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("not"),
        Just("and"),
        Just("or"),
        Just("pr"),
        Just("eq"),
        Just("co"),
        Just("gt"),
        Just("emails"),
        Just("."),
        Just("value"),
        Just("userName"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Just("\"x\""),
        Just("\"\\u0000\""),
        Just("\""),
        Just("\\"),
        Just("true"),
        Just("null"),
        Just("-1e999"),
        Just("18446744073709551616"),
        Just("\u{0}"),
        Just("\u{1b}"),
        Just("é"),
        Just(" "),
    ];
    prop::collection::vec(token, 0..60).prop_map(|tokens| tokens.join(" "))
}

/// `InvalidFilter`, or the test fails with what came back instead.
fn assert_invalid_filter(input: &str, result: Result<Filter, ScimError>) {
    match result {
        Err(ScimError::InvalidFilter(_)) => {}
        other => panic!(
            "{} bytes starting {:?}: expected invalidFilter, got {other:?}",
            input.len(),
            &input[..input.len().min(40)]
        ),
    }
}

/// Exercises an accepted filter the way the services do.
fn use_filter(filter: &Filter) {
    let _ = filter.to_string();
    let user = json!({"userName": "bjensen", "emails": [{"value": "b@example.com"}]});
    let _ = matches(filter, &user, schema::user());
}

/// JSON-ish bodies: User attribute names, wrong types, hostile and limit-sized strings,
/// nesting past what a resource has.
fn json_ish() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just(String::new()),
        Just("bjensen@example.com".to_string()),
        Just("a\u{0}b".to_string()),
        Just("\u{7f}".to_string()),
        Just("tab\tline\n".to_string()),
        Just("x".repeat(MAX_INDEXED_STRING_BYTES)),
        Just("x".repeat(MAX_INDEXED_STRING_BYTES + 1)),
        // 800 bytes, 1200 once lower-cased: only the folded check can refuse it.
        Just("\u{130}".repeat(400)),
        Just("True".to_string()),
        "[a-z@.]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        Just(json!(1e300)),
        text.prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        let key = prop_oneof![
            Just("userName".to_string()),
            Just("USERNAME".to_string()),
            Just("displayName".to_string()),
            Just("externalId".to_string()),
            Just("name".to_string()),
            Just("givenName".to_string()),
            Just("emails".to_string()),
            Just("value".to_string()),
            Just("primary".to_string()),
            Just("type".to_string()),
            Just("phoneNumbers".to_string()),
            Just("roles".to_string()),
            Just("x509Certificates".to_string()),
            Just("active".to_string()),
            Just("schemas".to_string()),
            Just("id".to_string()),
            Just("meta".to_string()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
            Just("manager".to_string()),
            Just("urn:ietf:params:scim:schemas:core:2.0:User".to_string()),
            "[a-zA-Z.\u{0}]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body that names the User schema and a userName, so that most cases get past the first
/// checks to the interesting ones.
fn user_body() -> impl Strategy<Value = Value> {
    (json_ish(), "[a-z]{1,8}").prop_map(|(extra, user_name)| {
        let mut body = Map::new();
        body.insert(
            "schemas".into(),
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
        );
        body.insert("userName".into(), json!(user_name));
        if let Value::Object(fields) = extra {
            body.extend(fields);
        }
        Value::Object(body)
    })
}

fn check_create(body: &Value) {
    if let Ok(user) = prepare_new_user(body)
        && let Err(error) = check_resource(&user)
    {
        panic!("prepare_new_user accepted what check_resource refuses: {error}\n{user}");
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn arbitrary_text_never_panics(text in any_text()) {
        if let Ok(filter) = parse_filter(&text) {
            use_filter(&filter);
        }
        let _ = parse_patch_path(&text);
    }

    #[test]
    fn filter_shaped_text_never_panics(text in filter_soup()) {
        if let Ok(filter) = parse_filter(&text) {
            use_filter(&filter);
        }
        let _ = parse_patch_path(&text);
        let _ = parse_patch_path(&format!("emails[{text}].value"));
    }

    #[test]
    fn json_ish_bodies_never_panic(body in json_ish(), user in user_body()) {
        check_create(&body);
        check_create(&user);
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Nesting past the limit is refused, both under the byte limit (the depth check does it)
    /// and past it (the length check does), never by running out of stack.
    #[test]
    fn deep_nesting_is_refused(n in (MAX_FILTER_DEPTH + 1)..5000, kind in 0..4usize) {
        let (open, close) = [("not (", ")"), ("(", ")"), ("emails[", "]"), ("not(", ")")][kind];
        let closed = format!("{}value pr{}", open.repeat(n), close.repeat(n));
        assert_invalid_filter(&closed, parse_filter(&closed));
        let unclosed = open.repeat(n);
        assert_invalid_filter(&unclosed, parse_filter(&unclosed));
        let _ = parse_patch_path(&format!("emails[{closed}].value"));
    }

    #[test]
    fn long_chains_are_refused(n in MAX_FILTER_TERMS..3000, kind in 0..3usize) {
        let link = ["a pr or ", "a pr and ", "not (a pr) or "][kind];
        let chain = format!("{}a pr", link.repeat(n));
        assert_invalid_filter(&chain, parse_filter(&chain));
        let dangling = link.repeat(n);
        assert_invalid_filter(&dangling, parse_filter(&dangling));
    }

    /// Bodies nested up to serde_json's own parse limit (128), which is as deep as a request
    /// can arrive.
    #[test]
    fn deep_json_bodies_are_refused_or_bounded(depth in 1usize..127, array in any::<bool>()) {
        let (open, close) = if array { ("[", "]") } else { ("{\"name\":", "}") };
        let text = format!(
            "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\",\
             \"name\":{}\"x\"{}}}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        check_create(&body);
    }
}

#[test]
fn the_limits_themselves_are_accepted() {
    let deepest = format!(
        "{}a pr{}",
        "not (".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    );
    use_filter(&parse_filter(&deepest).unwrap());
    let longest = format!("{}a pr", "a pr or ".repeat(MAX_FILTER_TERMS - 1));
    use_filter(&parse_filter(&longest).unwrap());
    let too_long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_BYTES));
    assert_invalid_filter(&too_long, parse_filter(&too_long));
}
