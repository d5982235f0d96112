//! Properties: printed filters parse back to the same tree; PATCH never panics; userName keys
//! are stable and blind to canonical equivalence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use scim_model::{
    AttrPath, CompareOp, CompareValue, Filter, apply_group_patch, apply_user_patch, fold_user_name,
    matches, normalize_user_name, parse_filter, parse_patch_request, schema,
};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,7}"
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        Just(None),
        Just(Some(
            "urn:ietf:params:scim:schemas:core:2.0:User".to_string()
        )),
        Just(Some(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()
        )),
    ];
    (urn, name(), proptest::option::of(name())).prop_map(
        |(schema_urn, attribute, sub_attribute)| AttrPath {
            schema_urn,
            attribute,
            sub_attribute,
        },
    )
}

fn compare_value() -> impl Strategy<Value = CompareValue> {
    prop_oneof![
        any::<String>().prop_map(CompareValue::String),
        "[ -~]{0,12}".prop_map(CompareValue::String),
        any::<i64>().prop_map(|i| CompareValue::Number(i.into())),
        any::<u64>().prop_map(|i| CompareValue::Number(i.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompareValue::Number),
        any::<bool>().prop_map(CompareValue::Bool),
        Just(CompareValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (path.clone(), op(), compare_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
        path.prop_map(Filter::Present),
    ]
}

fn combine(
    inner: impl Strategy<Value = Filter> + Clone + 'static,
) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        inner.prop_map(|a| Filter::Not(Box::new(a))),
    ]
}

fn value_filter() -> impl Strategy<Value = Filter> {
    leaf(name().prop_map(AttrPath::new).boxed()).prop_recursive(3, 8, 2, combine)
}

fn filter() -> impl Strategy<Value = Filter> {
    let base = prop_oneof![
        3 => leaf(attr_path().boxed()),
        1 => (name(), value_filter()).prop_map(|(n, f)| Filter::ValuePath { path: AttrPath::new(n), filter: Box::new(f) }),
    ];
    base.prop_recursive(4, 24, 2, combine)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        prop_oneof![
            Just("True".to_string()),
            Just(String::new()),
            "[a-z@.]{0,8}".prop_map(|s| s)
        ]
        .prop_map(Value::String),
        Just(json!("{\"value\":\"Admin\"}")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            Just("value".to_string()),
            Just("type".to_string()),
            Just("primary".to_string()),
            Just("givenName".to_string()),
            Just("userName".to_string()),
            Just("id".to_string()),
            Just("members".to_string()),
            Just("emails".to_string()),
            Just("displayName".to_string()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_string()),
            Just("name.familyName".to_string()),
            "[a-zA-Z.]{1,8}".prop_map(|s| s),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("emails".to_string()),
        Just("emails[type eq \"work\"].value".to_string()),
        Just("emails[type eq \"work\"]".to_string()),
        Just("emails[value co \"x\" or primary eq true].primary".to_string()),
        Just("addresses[type eq \"work\"].formatted".to_string()),
        Just("name".to_string()),
        Just("name.givenName".to_string()),
        Just("userName".to_string()),
        Just("active".to_string()),
        Just("members".to_string()),
        Just("members[value eq \"a\"]".to_string()),
        Just("displayName".to_string()),
        Just("roles".to_string()),
        Just("id".to_string()),
        Just("meta.created".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_string()),
        Just(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".to_string()
        ),
        "[a-zA-Z\\[\\]\\. \"]{0,12}".prop_map(|s| s),
    ])
}

fn operation() -> impl Strategy<Value = Value> {
    let op = prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("bogus")];
    (op, patch_path(), proptest::option::of(json_value())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), json!(op));
        if let Some(p) = path {
            o.insert("path".into(), json!(p));
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn filter_display_round_trips(f in filter()) {
        let printed = f.to_string();
        let parsed = parse_filter(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    #[test]
    fn filter_eval_never_panics(f in filter()) {
        let _ = matches(&f, &common::bjensen(), schema::user());
    }

    #[test]
    fn parse_filter_never_panics(s in "\\PC{0,40}") {
        let _ = parse_filter(&s);
    }

    /// A key folded again is the same key, or a name's key would depend on how often it
    /// passed through the function (a filter operand and a stored key must meet).
    #[test]
    fn user_name_folding_is_idempotent(s in any::<String>()) {
        let once = fold_user_name(&s);
        prop_assert_eq!(fold_user_name(&once), once.clone());
        prop_assert_eq!(once.nfkc().collect::<String>(), once);
    }

    #[test]
    fn canonically_equal_user_names_have_one_key(s in any::<String>()) {
        let key = normalize_user_name(&s);
        prop_assert_eq!(normalize_user_name(&s.nfd().collect::<String>()), key.clone());
        prop_assert_eq!(normalize_user_name(&s.nfc().collect::<String>()), key);
    }

    #[test]
    fn patch_never_panics(ops in proptest::collection::vec(operation(), 0..5)) {
        let body = json!({"Operations": ops});
        if let Ok(parsed) = parse_patch_request(&body) {
            if let Ok(u) = apply_user_patch(&common::bjensen(), &parsed) {
                // Whatever is accepted stays valid.
                prop_assert!(u["userName"].as_str().is_some_and(|s| !s.trim().is_empty()));
            }
            let _ = apply_group_patch(&json!({"id": "g", "displayName": "G"}), &parsed);
        }
    }
}
