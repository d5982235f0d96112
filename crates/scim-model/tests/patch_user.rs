//! User PATCH: RFC 7644 §3.5.2 examples, then the Entra and Okta request shapes from the
//! research notes (§3.3, §3.5, §3.6, §4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ENT, bjensen, ops};
use scim_model::{ScimError, apply_user_patch};
use serde_json::{Value, json};

fn patch(resource: &Value, operations: Value) -> Result<Value, ScimError> {
    apply_user_patch(resource, &ops(operations))
}

fn ok(resource: &Value, operations: Value) -> Value {
    patch(resource, operations).unwrap()
}

fn emails_of_type<'a>(u: &'a Value, t: &str) -> Vec<&'a Value> {
    u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == t)
        .collect()
}

#[test]
fn rfc_add_without_path() {
    let u = ok(
        &bjensen(),
        json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b2@jensen.org", "type": "other"}],
            "nickname": "Babsy"
        }}]),
    );
    assert_eq!(u["nickName"], "Babsy");
    assert!(u.get("nickname").is_none());
    assert_eq!(
        u["emails"].as_array().unwrap().len(),
        3,
        "the existing home email is not duplicated"
    );
}

#[test]
fn rfc_replace_complex_multi_valued_with_filter() {
    let u = ok(
        &bjensen(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
            "type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
            "region": "CA", "postalCode": "91608", "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true
        }}]),
    );
    let work = &u["addresses"][0];
    assert_eq!(work["streetAddress"], "911 Universal City Plaza");
    assert_eq!(work["country"], "US");
    assert_eq!(u["addresses"][1]["type"], "home");
}

#[test]
fn rfc_replace_sub_attribute_with_filter() {
    let u = ok(
        &bjensen(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    );
    assert_eq!(u["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(u["addresses"][0]["locality"], "Hollywood");
}

#[test]
fn rfc_replace_without_path() {
    let u = ok(
        &bjensen(),
        json!([{"op": "replace", "value": {
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "nickname": "Babs"
        }}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
    );
}

#[test]
fn rfc_remove_with_filter_and_whole_attribute() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"},
            {"op": "remove", "path": "x509Certificates"}
        ]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
    assert!(u.get("x509Certificates").is_none());
    // Removing what is not there is not an error: IdPs retry.
    ok(
        &u,
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    );
}

#[test]
fn remove_sub_attributes() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "remove", "path": "name.middleName"},
            {"op": "remove", "path": "emails[type eq \"work\"].primary"},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
        ]),
    );
    assert!(u["name"].get("middleName").is_none());
    assert!(u["emails"][0].get("primary").is_none());
    assert!(u[ENT].get("manager").is_none());
    assert_eq!(u[ENT]["department"], "Tour Operations");
}

#[test]
fn entra_u4_replace_work_email_and_family_name() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]),
    );
    assert_eq!(
        emails_of_type(&u, "work")[0]["value"],
        "updatedEmail@microsoft.com"
    );
    assert_eq!(emails_of_type(&u, "home")[0]["value"], "babs@jensen.org");
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    assert_eq!(u["name"]["givenName"], "Barbara");
}

#[test]
fn entra_u5_u6_username_and_disable() {
    let u = ok(
        &bjensen(),
        json!([{"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}]),
    );
    assert_eq!(u["userName"], "5b50642d@testuser.com");
    let u = ok(
        &u,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(u["active"], false);
    let u = ok(
        &u,
        json!([{"op": "replace", "path": "active", "value": true}]),
    );
    assert_eq!(u["active"], true);
    let u = ok(
        &u,
        json!([{"op": "Replace", "path": "Active", "value": "false"}]),
    );
    assert_eq!(u["active"], false);
}

#[test]
fn entra_create_missing_work_email() {
    let mut base = bjensen();
    base["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]);
    let u = ok(
        &base,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}, {"type": "work", "value": "new@contoso.com"}])
    );
    let u = ok(
        &u,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"}]),
    );
    assert_eq!(emails_of_type(&u, "work")[0]["primary"], true);
    let mut no_addr = bjensen();
    no_addr.as_object_mut().unwrap().remove("addresses");
    let u = ok(
        &no_addr,
        json!([{"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St"}]),
    );
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "formatted": "1 Main St"}])
    );
    // A created element that is primary takes the flag from the others.
    let u = ok(
        &bjensen(),
        json!([{"op": "add", "path": "emails[type eq \"other\" and primary eq true].value", "value": "o@x.com"}]),
    );
    assert_eq!(emails_of_type(&u, "other")[0]["primary"], true);
    assert_eq!(emails_of_type(&u, "work")[0]["primary"], false);
    // A filter that does not describe an element cannot create one.
    let err = patch(
        &base,
        json!([{"op": "replace", "path": "emails[value co \"x\"].type", "value": "work"}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::NoTarget(_)));
}

#[test]
fn entra_flagged_pathless_replace_with_paths_as_keys() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@contoso.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                "active": "False"
            }}
        ]),
    );
    assert_eq!(u["displayName"], "Bjfe");
    assert_eq!(u["name"]["givenName"], "Kkom");
    assert_eq!(u["name"]["familyName"], "Unua");
    assert_eq!(
        u["name"]["formatted"], "Ms. Barbara J Jensen, III",
        "other name parts untouched"
    );
    assert_eq!(u[ENT]["employeeNumber"], "Aklq");
    assert_eq!(u["active"], false);
}

#[test]
fn unflagged_extension_replace() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "Replace", "path": "externalId", "value": "new-ext"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"},
            {"op": "Add", "value": {ENT: {"department": "Sales", "costCenter": null}}}
        ]),
    );
    assert_eq!(u["externalId"], "new-ext");
    assert_eq!(u[ENT]["employeeNumber"], "42");
    assert_eq!(u[ENT]["department"], "Sales");
    assert!(u[ENT].get("costCenter").is_none());
}

#[test]
fn entra_manager_shapes() {
    let mut base = bjensen();
    base.as_object_mut().unwrap().remove(ENT);
    // Plain string id (Q6).
    let u = ok(
        &base,
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "271"}]),
    );
    assert_eq!(u[ENT]["manager"], json!({"value": "271"}));
    assert!(u["schemas"].as_array().unwrap().contains(&json!(ENT)));
    // Documented form: unqualified path and an array value (U8).
    let u = ok(
        &u,
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "http://x/Users/300", "value": "300"}]}]),
    );
    assert_eq!(
        u[ENT]["manager"],
        json!({"$ref": "http://x/Users/300", "value": "300"})
    );
    // A new manager id drops the stale $ref.
    let u = ok(
        &u,
        json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "400"}]),
    );
    assert_eq!(u[ENT]["manager"], json!({"value": "400"}));
    let u2 = ok(
        &u,
        json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "500"}]),
    );
    assert_eq!(u2[ENT]["manager"], json!({"value": "500"}));
    // Removal as a replace with an empty value.
    for empty in [json!(""), json!({"value": ""}), Value::Null] {
        let r = ok(
            &u,
            json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": empty}]),
        );
        assert!(r.get(ENT).is_none(), "empty extension object is dropped");
        assert_eq!(
            r["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }
}

#[test]
fn entra_roles_as_json_strings() {
    let u = ok(
        &bjensen(),
        json!([{"op": "Add", "path": "roles", "value": [
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole",
             "value": "{\"id\":\"ef7e1b4a\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}
        ]}]),
    );
    assert_eq!(u["roles"][0]["value"], "Admin");
    assert_eq!(u["roles"][0]["display"], "Admin");
    let u = ok(
        &u,
        json!([{"op": "add", "path": "roles", "value": ["User"]}]),
    );
    assert_eq!(u["roles"].as_array().unwrap().len(), 2);
}

#[test]
fn entra_null_and_empty_clear() {
    let u = ok(
        &bjensen(),
        json!([
            {"op": "Replace", "path": "title", "value": ""},
            {"op": "Replace", "path": "nickName", "value": null},
            {"op": "Add", "path": "displayName", "value": ""},
            {"op": "replace", "value": {"locale": null, "name.middleName": ""}}
        ]),
    );
    for gone in ["title", "nickName", "displayName", "locale"] {
        assert!(u.get(gone).is_none(), "{gone}");
    }
    assert!(u["name"].get("middleName").is_none());
}

#[test]
fn okta_deactivate_pathless() {
    let u = ok(
        &bjensen(),
        json!([{"op": "replace", "value": {"active": false}}]),
    );
    assert_eq!(u["active"], false);
    // Okta password pushes are accepted and dropped (changePassword unsupported).
    let u = ok(
        &u,
        json!([{"op": "replace", "value": {"password": "secret"}}, {"op": "replace", "path": "password", "value": "x"}]),
    );
    assert!(u.get("password").is_none());
}

#[test]
fn primary_exclusivity() {
    let u = ok(
        &bjensen(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@x.com", "type": "other", "primary": true}]}]),
    );
    let primaries: Vec<&Value> = u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "new@x.com");
    let u = ok(
        &bjensen(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    );
    assert_eq!(emails_of_type(&u, "work")[0]["primary"], false);
    let err = patch(
        &bjensen(),
        json!([{"op": "replace", "path": "emails", "value": [
        {"value": "a", "primary": true}, {"value": "b", "primary": true}]}]),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::InvalidValue(_)));
}

#[test]
fn add_existing_value_merges_instead_of_duplicating() {
    let u = ok(
        &bjensen(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "BJENSEN@example.com", "type": "work", "display": "Work"}]}]),
    );
    assert_eq!(emails_of_type(&u, "work").len(), 1);
    assert_eq!(emails_of_type(&u, "work")[0]["display"], "Work");
}

#[test]
fn errors() {
    let cases = [
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            "mutability",
        ),
        (json!([{"op": "remove", "path": "userName"}]), "mutability"),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "noSuchAttribute", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "name.noSuch", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "name", "value": 5}]),
            "invalidValue",
        ),
        (json!([{"op": "add", "path": "title"}]), "invalidSyntax"),
        (
            json!([{"op": "replace", "value": "not an object"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "value": {"id": "different"}}]),
            "mutability",
        ),
    ];
    for (operations, scim_type) in cases {
        let err = patch(&bjensen(), operations.clone()).unwrap_err();
        assert_eq!(err.scim_type(), Some(scim_type), "{operations}: {err}");
    }
}

#[test]
fn pathless_ignores_read_only_echoes_and_unknown_keys() {
    let base = bjensen();
    let u = ok(
        &base,
        json!([{"op": "replace", "value": {
            "id": base["id"], "meta": {"version": "x"}, "schemas": ["x"], "unknownThing": 1, "title": "Boss"
        }}]),
    );
    assert_eq!(u["title"], "Boss");
    assert_eq!(u["meta"], base["meta"]);
}

#[test]
fn all_or_nothing() {
    let base = bjensen();
    let err = patch(
        &base,
        json!([
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "id", "value": "x"}
        ]),
    );
    assert!(err.is_err());
    assert_eq!(base["title"], "Tour Guide");
}

/// RFC 7644 §3.5.2.2: `remove` unsets `active` (scim2-tester checks this);
/// users are still created active and an unset value still reads as active.
#[test]
fn removing_active_unsets_it_but_the_user_stays_active() {
    let created = scim_model::prepare_new_user(&json!({"userName": "kim"})).unwrap();
    assert_eq!(created["active"], true);
    let removed = ok(&created, json!([{"op": "remove", "path": "active"}]));
    assert!(removed.get("active").is_none(), "{removed}");
    assert!(scim_model::is_active(&removed));
}

/// Entra clears a mapped work email with `""` (or `null`) on the value path:
/// the element must go, not linger as `{"type": "work"}`.
#[test]
fn clearing_an_element_value_removes_the_hollow_element() {
    let user = scim_model::prepare_new_user(&json!({
        "userName": "kim",
        "emails": [{"type": "work", "value": "kim@work.example", "primary": true},
                   {"type": "home", "value": "kim@home.example"}]
    }))
    .unwrap();
    let cleared = ok(
        &user,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": ""}]),
    );
    assert_eq!(
        cleared["emails"],
        json!([{"type": "home", "value": "kim@home.example"}])
    );
    let none_left = ok(
        &cleared,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": null}]),
    );
    assert!(none_left.get("emails").is_none(), "{none_left}");
}

/// Entra lets admins map custom extension attributes; create ignores an
/// unknown extension, and so must PATCH, or every update of the user fails.
#[test]
fn unknown_extension_paths_are_ignored_but_unknown_core_paths_are_not() {
    let user = scim_model::prepare_new_user(&json!({"userName": "kim"})).unwrap();
    let custom = "urn:ietf:params:scim:schemas:extension:contoso:2.0:User";
    let patched = ok(
        &user,
        json!([
            {"op": "Replace", "path": format!("{custom}:costCenter"), "value": "42"},
            {"op": "Add", "path": format!("{custom}:badges[type eq \"x\"].value"), "value": "y"},
            {"op": "Replace", "path": "title", "value": "Engineer"}
        ]),
    );
    assert_eq!(patched["title"], "Engineer");
    assert!(patched.get(custom).is_none(), "{patched}");
    let typo = patch(
        &user,
        json!([{"op": "replace", "path": "titel", "value": "x"}]),
    );
    assert!(matches!(typo, Err(ScimError::InvalidPath(_))), "{typo:?}");
    let enterprise_typo = patch(
        &user,
        json!([{"op": "replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:departmnt",
                "value": "x"}]),
    );
    assert!(matches!(enterprise_typo, Err(ScimError::InvalidPath(_))));
    let manager = ok(
        &user,
        json!([{"op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": "boss-id"}]),
    );
    assert_eq!(
        manager["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        "boss-id"
    );
}
