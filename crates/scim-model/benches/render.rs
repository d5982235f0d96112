//! What the gateway does to every resource it returns (each lookup result, each listed
//! user): removing the attributes whose `returned` is `never`, here on a user as Entra ID
//! provisions it (core, enterprise extension with manager, the directory's id and meta).
//!
//! `cargo bench -p scim-model --bench render`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

fn entra_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "0193c5b2-7d7a-7c1e-9a4b-3f1e2d3c4b5a",
        "externalId": "8c1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-ee44ff55aa66@contoso.com",
        "active": true,
        "displayName": "Test User",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "name": { "givenName": "Test", "familyName": "User", "formatted": "Test User" },
        "emails": [{ "value": "test.user@contoso.com", "type": "work", "primary": true }],
        "phoneNumbers": [{ "value": "+1 555 0100", "type": "work" }],
        "addresses": [{ "type": "work", "streetAddress": "1 Main St", "locality": "Redmond",
                        "region": "WA", "postalCode": "98052", "country": "US", "primary": true }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "12345",
            "department": "Engineering",
            "manager": { "value": "0193c5b2-0000-7c1e-9a4b-3f1e2d3c4b5a" }
        },
        "meta": {
            "resourceType": "User",
            "created": "2026-12-03T10:00:00.000Z",
            "lastModified": "2026-12-03T10:00:00.000Z",
            "version": "W/\"42\""
        }
    })
}

fn strip_never_returned(c: &mut Criterion) {
    let user = entra_user();
    let schema = scim_model::schema::user();
    c.bench_function("strip_never_returned/entra_user", |b| {
        b.iter_batched(
            || user.clone(),
            |mut resource| {
                scim_model::strip_never_returned(black_box(&mut resource), schema);
                resource
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, strip_never_returned);
criterion_main!(benches);
