//! PATCH application: an Entra-style user update with a few operations, and a group PATCH
//! adding 100 members (the batch size IdPs send); the create path and the request limits.
//!
//! `cargo bench -p scim-model --bench patch`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

use scim_model::{
    ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, ScimError, apply_group_patch, apply_user_patch,
    parse_patch_request, prepare_new_group, prepare_new_user,
};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "alice.smith@contoso.com",
        "active": true,
        "displayName": "Alice Smith",
        "title": "Account Executive",
        "name": {"givenName": "Alice", "familyName": "Smith", "formatted": "Alice Smith"},
        "emails": [
            {"primary": true, "type": "work", "value": "alice.smith@contoso.com"},
            {"type": "home", "value": "alice@example.org"}
        ],
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        "addresses": [{"type": "work", "locality": "Seattle", "country": "US", "primary": true}],
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": "0042", "department": "Sales"}
    })
}

/// What Entra sends when several attributes change at once, manager as a bare id.
fn user_patch() -> Value {
    json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Alice Smith-Jones"},
            {"op": "Replace", "path": "title", "value": "Senior Account Executive"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice.smith-jones@contoso.com"},
            {"op": "Add", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": "2819c223-7f76-453a-919d-413861904646"},
            {"op": "Replace", "path": format!("{ENTERPRISE_USER_SCHEMA}:department"), "value": "Enterprise Sales"},
            {"op": "Replace", "path": "active", "value": false}
        ]
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": "7d3f4e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "displayName": "Sales Team EMEA",
        "members": []
    })
}

fn add_members_patch(n: usize) -> Value {
    let members: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("0190f3a2-7c4e-7d2b-9a1f-{i:012x}")}))
        .collect();
    json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": members}]
    })
}

struct Fixtures {
    user: Value,
    user_patch: Value,
    group: Value,
    group_patch: Value,
}

fn fixtures() -> Result<Fixtures, ScimError> {
    let user = prepare_new_user(&user())?;
    let user_patch = user_patch();
    apply_user_patch(&user, &parse_patch_request(&user_patch)?)?;
    let (group, _) = prepare_new_group(&group())?;
    let group_patch = add_members_patch(100);
    let outcome = apply_group_patch(&group, &parse_patch_request(&group_patch)?)?;
    assert_eq!(outcome.members_added.len(), 100);
    Ok(Fixtures {
        user,
        user_patch,
        group,
        group_patch,
    })
}

fn patch(c: &mut Criterion) {
    let f = match fixtures() {
        Ok(f) => f,
        Err(error) => {
            eprintln!("bench fixtures are invalid: {error}");
            std::process::exit(1);
        }
    };
    let mut group = c.benchmark_group("patch");

    // The create path (validation, canonical form and, since the limits, the storability
    // check), and the limits check alone: what every write now pays before it is appended.
    let body = user();
    group.bench_function("user_prepare_new", |b| {
        b.iter(|| prepare_new_user(black_box(&body)))
    });
    group.bench_function("user_check_limits", |b| {
        b.iter(|| scim_model::limits::check_resource(black_box(&f.user)))
    });

    group.bench_function("user_parse_request_6_ops", |b| {
        b.iter(|| parse_patch_request(black_box(&f.user_patch)))
    });
    if let Ok(ops) = parse_patch_request(&f.user_patch) {
        group.bench_function("user_apply_6_ops", |b| {
            b.iter(|| apply_user_patch(black_box(&f.user), black_box(&ops)))
        });
    }
    group.bench_function("user_parse_and_apply_6_ops", |b| {
        b.iter(|| {
            parse_patch_request(black_box(&f.user_patch))
                .and_then(|ops| apply_user_patch(&f.user, &ops))
        })
    });

    group.bench_function("group_parse_request_add_100_members", |b| {
        b.iter(|| parse_patch_request(black_box(&f.group_patch)))
    });
    if let Ok(ops) = parse_patch_request(&f.group_patch) {
        group.bench_function("group_apply_add_100_members", |b| {
            b.iter(|| apply_group_patch(black_box(&f.group), black_box(&ops)))
        });
    }
    // The gateway receives the body as JSON text: include deserialising it.
    if let Ok(text) = serde_json::to_string(&f.group_patch) {
        group.bench_function("group_decode_parse_apply_add_100_members", |b| {
            b.iter(|| {
                serde_json::from_str::<Value>(black_box(&text))
                    .map_err(|e| ScimError::InvalidSyntax(e.to_string()))
                    .and_then(|body| parse_patch_request(&body))
                    .and_then(|ops| apply_group_patch(&f.group, &ops))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, patch);
criterion_main!(benches);
