//! The fixed resources the targets evaluate and patch: RFC 7643 §8 shaped, as stored.
#![allow(dead_code)]

use std::sync::LazyLock;

use serde_json::{Value, json};

/// A stored user with every kind of attribute a filter or PATCH can address: simple,
/// complex, multi-valued complex, the enterprise extension and `meta`.
pub static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        "addresses": [{
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "primary": true
        }],
        "roles": [{"value": "Tour Guide", "type": "WindowsAzureActiveDirectoryRole", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        }
    })
});

/// A stored group (members are stored apart and never part of the resource).
pub static GROUP: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "externalId": "tour-guides",
        "displayName": "Tour Guides",
        "meta": {
            "resourceType": "Group",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff592\""
        }
    })
});

/// What every resource that may be appended to the stream must satisfy: the limits, and
/// JSON the read models can store.
pub fn assert_storable(what: &str, resource: &Value) {
    if let Err(error) = scim_model::limits::check_resource(resource) {
        panic!("{what} accepted a resource that fails check_resource: {error}\n{resource}");
    }
    let bytes = match serde_json::to_vec(resource) {
        Ok(bytes) => bytes,
        Err(error) => panic!("{what} produced a resource that does not serialise: {error}"),
    };
    if let Some(offset) = scim_events::storable::first_unstorable(&bytes) {
        panic!(
            "{what} produced unstorable JSON at byte {offset}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
