//! Differential test of the filter compiler: for generated users and generated filters, the
//! users the directory's SQL selects are exactly those `scim_model::matches` accepts. The
//! compiler's own tests pin its SQL text; this one checks what that SQL means, on real Postgres
//! (`TEST_DATABASE_URL`), with the users written by the projection itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::collections::BTreeSet;

use directory_service::projection::{Applied, DirectoryProjection};
use directory_service::read::{DirectoryReader, Kind, ListQuery};
use event_store::StoredEvent;
use event_store::consumer::BatchHandler;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload};
use scim_model::{AttrPath, CompareOp, CompareValue, Filter, matches, schema};
use serde_json::{Map, Value, json};
use sqlx::migrate::Migrator;
use test_support::TestDatabase;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const TENANT: &str = "tenant-diff";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Few words, so that generated filters often hit: mixed case (case-insensitive attributes),
/// prefixes of each other (`sw`, `co`), and `%`/`_`, which LIKE must not treat as wildcards.
const WORDS: &[&str] = &["ab", "Ab", "abc", "ABC", "b", "b_c", "x%y", "xy", "z"];

fn word() -> impl Strategy<Value = String> {
    proptest::sample::select(WORDS).prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        word(),
        (word(), word()).prop_map(|(a, b)| format!("{a}{b}"))
    ]
}

/// userName values and operands also come in forms that its identity key folds together:
/// fullwidth, ligature, ß and ss, Kelvin sign and k, composed and decomposed é.
const USER_NAME_WORDS: &[&str] = &[
    "ab", "ＡＢ", "ﬁ", "FI", "ß", "ss", "\u{212a}", "k", "\u{e9}", "E\u{301}",
];

fn user_name_text() -> impl Strategy<Value = String> {
    let word = || proptest::sample::select(USER_NAME_WORDS).prop_map(str::to_owned);
    prop_oneof![
        text(),
        word(),
        (word(), word()).prop_map(|(a, b)| format!("{a}{b}"))
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (
        text(),
        proptest::option::of(proptest::sample::select(&["work", "home", "Work"][..])),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(local, kind, primary)| {
            let mut email = Map::new();
            email.insert("value".into(), json!(format!("{local}@example.com")));
            if let Some(kind) = kind {
                email.insert("type".into(), json!(kind));
            }
            if let Some(primary) = primary {
                email.insert("primary".into(), json!(primary));
            }
            Value::Object(email)
        })
}

/// A user body as an IdP would send it; every attribute but `userName` may be missing.
fn user_body() -> impl Strategy<Value = Value> {
    (
        user_name_text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        (proptest::option::of(text()), proptest::option::of(text())),
        proptest::option::of(text()),
        proptest::collection::vec(email(), 0..3),
        (proptest::option::of(text()), proptest::option::of(text())),
    )
        .prop_map(
            |(
                user_name,
                display,
                external,
                active,
                (given, family),
                title,
                emails,
                (dept, number),
            )| {
                let mut body = Map::new();
                body.insert("userName".into(), json!(user_name));
                let mut put = |key: &str, value: Option<String>| {
                    if let Some(value) = value {
                        body.insert(key.into(), json!(value));
                    }
                };
                put("displayName", display);
                put("externalId", external);
                put("title", title);
                if let Some(active) = active {
                    body.insert("active".into(), json!(active));
                }
                let mut name = Map::new();
                for (key, value) in [("givenName", given), ("familyName", family)] {
                    if let Some(value) = value {
                        name.insert(key.into(), json!(value));
                    }
                }
                if !name.is_empty() {
                    body.insert("name".into(), Value::Object(name));
                }
                if !emails.is_empty() {
                    // At most one primary value (RFC 7643 §2.4): later ones become false.
                    let mut emails = emails;
                    let mut seen_primary = false;
                    for email in &mut emails {
                        if email["primary"] == json!(true) {
                            if seen_primary {
                                email["primary"] = json!(false);
                            }
                            seen_primary = true;
                        }
                    }
                    body.insert("emails".into(), Value::Array(emails));
                }
                let mut enterprise = Map::new();
                for (key, value) in [("department", dept), ("employeeNumber", number)] {
                    if let Some(value) = value {
                        enterprise.insert(key.into(), json!(value));
                    }
                }
                if !enterprise.is_empty() {
                    body.insert("schemas".into(), json!([schema::USER_SCHEMA, ENTERPRISE]));
                    body.insert(ENTERPRISE.into(), Value::Object(enterprise));
                }
                Value::Object(body)
            },
        )
}

fn path(attribute: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        schema_urn: None,
        attribute: attribute.to_owned(),
        sub_attribute: sub.map(str::to_owned),
    }
}

fn enterprise(attribute: &str) -> AttrPath {
    AttrPath {
        schema_urn: Some(ENTERPRISE.to_owned()),
        attribute: attribute.to_owned(),
        sub_attribute: None,
    }
}

fn text_path() -> impl Strategy<Value = AttrPath> {
    prop_oneof![
        Just(path("userName", None)),
        Just(path("displayName", None)),
        Just(path("externalId", None)),
        Just(path("title", None)),
        Just(path("name", Some("givenName"))),
        Just(path("name", Some("familyName"))),
        Just(path("emails", Some("value"))),
        Just(path("emails", Some("type"))),
        Just(path("emails", None)),
        Just(enterprise("department")),
        Just(enterprise("employeeNumber")),
    ]
}

fn any_op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(&CompareOp::ALL[..])
}

fn equality() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(&[CompareOp::Eq, CompareOp::Ne][..])
}

/// A comparison or presence test that the attribute's type admits.
fn leaf() -> impl Strategy<Value = Filter> {
    let compare = |path, op, value| Filter::Compare { path, op, value };
    prop_oneof![
        4 => (text_path(), any_op(), text()).prop_map(move |(p, op, v)| compare(p, op, CompareValue::String(v))),
        2 => (any_op(), user_name_text())
            .prop_map(move |(op, v)| compare(path("userName", None), op, CompareValue::String(v))),
        1 => (text_path(), equality()).prop_map(move |(p, op)| compare(p, op, CompareValue::Null)),
        1 => text_path().prop_map(Filter::Present),
        1 => (equality(), any::<bool>())
            .prop_map(move |(op, b)| compare(path("active", None), op, CompareValue::Bool(b))),
        1 => (equality(), any::<bool>())
            .prop_map(move |(op, b)| compare(path("emails", Some("primary")), op, CompareValue::Bool(b))),
        1 => Just(Filter::Present(path("active", None))),
    ]
}

/// A filter inside `emails[…]`: on the element's own sub-attributes.
fn email_filter() -> impl Strategy<Value = Filter> {
    let sub = prop_oneof![
        (
            proptest::sample::select(&["value", "type"][..]),
            any_op(),
            text()
        )
            .prop_map(|(name, op, v)| Filter::Compare {
                path: path(name, None),
                op,
                value: CompareValue::String(v),
            }),
        (proptest::sample::select(&["work", "home"][..])).prop_map(|kind| Filter::Compare {
            path: path("type", None),
            op: CompareOp::Eq,
            value: CompareValue::String(kind.to_owned()),
        }),
        any::<bool>().prop_map(|b| Filter::Compare {
            path: path("primary", None),
            op: CompareOp::Eq,
            value: CompareValue::Bool(b),
        }),
    ];
    sub.prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let base = prop_oneof![
        5 => leaf(),
        1 => email_filter().prop_map(|f| Filter::ValuePath {
            path: path("emails", None),
            filter: Box::new(f),
        }),
    ];
    base.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// Writes the users through the projection, as user-created events would.
async fn project(pool: &sqlx::PgPool, bodies: &[Value]) {
    let (applied, _watch) = tokio::sync::watch::channel(Applied::default());
    let mut projection = DirectoryProjection::new(pool.clone(), applied, "differential".into());
    let mut batch = Vec::new();
    for (index, body) in bodies.iter().enumerate() {
        let id = format!("user-{index:03}");
        let mut resource = scim_model::prepare_new_user(body).unwrap();
        resource["id"] = json!(id);
        let envelope = EventEnvelope::new(
            TENANT,
            AggregateKind::User,
            id.clone(),
            Actor {
                config_id: Some("cfg".into()),
                token_id: None,
                system: None,
                admin: None,
            },
            format!("req-{index}"),
            EventPayload::UserCreated { resource },
        );
        batch.push(StoredEvent {
            sequence: u64::try_from(index).unwrap() + 1,
            subject: format!("differential.{id}"),
            envelope,
            headers: None,
        });
    }
    projection.apply(batch).await.unwrap();
}

async fn list(reader: &DirectoryReader, filter: Option<String>) -> Vec<(String, Value)> {
    let query = ListQuery {
        filter,
        start_index: 1,
        count: 10_000,
        ..ListQuery::default()
    };
    let (total, rows) = reader.list(TENANT, Kind::User, &query).await.unwrap();
    assert_eq!(
        total,
        u64::try_from(rows.len()).unwrap(),
        "a page holds all"
    );
    rows.into_iter()
        .map(|row| (row.id, serde_json::from_str(&row.json.into_text()).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_selects_exactly_what_matches_accepts() {
    let database = TestDatabase::migrated("directory_diff", &MIGRATIONS).await;
    // User names must be unique per tenant, so each gets its index as a suffix.
    let mut runner = TestRunner::default();
    let bodies: Vec<Value> = proptest::collection::vec(user_body(), 40)
        .new_tree(&mut runner)
        .unwrap()
        .current()
        .into_iter()
        .enumerate()
        .map(|(index, mut body)| {
            let name = body["userName"].as_str().unwrap().to_owned();
            body["userName"] = json!(format!("{name}{index}"));
            body
        })
        .collect();
    project(&database.pool, &bodies).await;
    let reader = DirectoryReader::new(database.pool.clone());
    // `matches` sees each user as a client does: as the directory returns it.
    let all = list(&reader, None).await;
    assert_eq!(all.len(), bodies.len());

    let handle = tokio::runtime::Handle::current();
    let proper_subsets = Cell::new(0_u32);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        // A failure prints the filter and the users; there is no source file to persist to.
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&filter(), |filter| {
            let text = filter.to_string();
            let query = ListQuery {
                filter: Some(text.clone()),
                start_index: 1,
                count: 10_000,
                ..ListQuery::default()
            };
            let (_, rows) = handle
                .block_on(reader.list(TENANT, Kind::User, &query))
                .map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
            let selected: BTreeSet<String> = rows.into_iter().map(|row| row.id).collect();
            let expected: BTreeSet<String> = all
                .iter()
                .filter(|(_, user)| matches(&filter, user, schema::user()))
                .map(|(id, _)| id.clone())
                .collect();
            if !expected.is_empty() && expected.len() < all.len() {
                proper_subsets.set(proper_subsets.get() + 1);
            }
            let differing: Vec<&Value> = all
                .iter()
                .filter(|(id, _)| selected.contains(id) != expected.contains(id))
                .map(|(_, user)| user)
                .collect();
            prop_assert!(
                differing.is_empty(),
                "filter {text}: SQL selected {selected:?}, matches {expected:?}; users that differ: {differing:#?}"
            );
            Ok(())
        })
        .map_err(|failure| failure.to_string())
    });
    database.drop_database().await;
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // The generator must make filters that tell users apart, or the test proves nothing.
    assert!(
        proper_subsets.get() >= 60,
        "only {} of 300 filters selected a proper, non-empty subset",
        proper_subsets.get()
    );
}
