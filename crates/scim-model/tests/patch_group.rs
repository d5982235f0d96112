//! Group PATCH as membership deltas: RFC 7644 §3.5.2 examples, Entra G3–G5 and the
//! `aadOptscim062020` forms, Okta Group Push.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::ops;
use scim_model::{GroupPatchOutcome, Member, ScimError, apply_group_patch};
use serde_json::{Value, json};

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "externalId": "8aa1a0c0",
        "members": [{"value": "already-loaded"}],
        "meta": {"resourceType": "Group", "created": "2010-01-23T04:56:22Z"}
    })
}

fn ok(operations: Value) -> GroupPatchOutcome {
    apply_group_patch(&group(), &ops(operations)).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn members(v: &[&str]) -> Vec<Member> {
    v.iter().map(|id| Member::id(*id)).collect()
}

#[test]
fn rfc_add_members() {
    let out = ok(json!([{"op": "add", "path": "members", "value": [{
        "display": "Babs Jensen",
        "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
        "value": "2819c223-7f76-453a-919d-413861904646"
    }]}]));
    assert_eq!(
        out.members_added,
        [Member {
            id: "2819c223-7f76-453a-919d-413861904646".into(),
            display: Some("Babs Jensen".into())
        }]
    );
    assert!(out.resource.get("members").is_none());
    assert_eq!(out.resource["displayName"], "Tour Guides");
    assert_eq!(out.resource["id"], "e9e30dba-f08f-4109-8486-d5c6a331660a");
}

/// A member named twice in one request keeps its first position; a later mention that carries
/// a name gives it that name, one without a name leaves it.
#[test]
fn a_later_mention_names_a_member() {
    let out = ok(json!([
        {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b", "display": "Bee"}]},
        {"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "a", "displayName": "new User"}]}
    ]));
    assert_eq!(
        out.members_added,
        [
            Member {
                id: "a".into(),
                display: Some("new User".into())
            },
            Member {
                id: "b".into(),
                display: Some("Bee".into())
            }
        ]
    );
}

#[test]
fn rfc_remove_one_member_and_all_members() {
    let out = ok(
        json!([{"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]),
    );
    assert_eq!(
        out.members_removed,
        strings(&["2819c223-7f76-453a-919d-413861904646"])
    );
    assert!(!out.remove_all_members);
    let out = ok(json!([{"op": "remove", "path": "members"}]));
    assert!(out.remove_all_members);
    assert!(out.members_removed.is_empty());
}

#[test]
fn rfc_remove_then_add_and_replace() {
    let out = ok(json!([
        {"op": "remove", "path": "members[value eq \"2819c223\"]"},
        {"op": "add", "path": "members", "value": [{"value": "902c246b"}, {"value": "2819c223"}]}
    ]));
    assert_eq!(out.members_added, members(&["902c246b", "2819c223"]));
    assert!(
        out.members_removed.is_empty(),
        "the later add cancels the removal"
    );
    let out = ok(
        json!([{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
    );
    assert_eq!(out.replace_members, Some(members(&["a", "b"])));
}

#[test]
fn entra_g3_g4_g5_in_one_request() {
    let out = ok(json!([
        {"op": "Replace", "path": "displayName", "value": "1879db59-updatedDisplayName"},
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}, {"$ref": null, "value": "u2"}]},
        {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u3"}]}
    ]));
    assert_eq!(out.resource["displayName"], "1879db59-updatedDisplayName");
    assert_eq!(out.members_added, members(&["f648f8d5ea4e4cd38e9c", "u2"]));
    assert_eq!(out.members_removed, strings(&["u3"]));
    assert!(!out.remove_all_members && out.replace_members.is_none());
}

#[test]
fn entra_flagged_remove_member() {
    let out = ok(
        json!([{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]),
    );
    assert_eq!(
        out.members_removed,
        strings(&["7f4bc1a3-285e-48ae-8202-5accb43efb0e"])
    );
}

#[test]
fn okta_group_push() {
    let g = group();
    let out = ok(json!([
        {"op": "replace", "value": {"id": g["id"], "displayName": "Renamed"}},
        {"op": "remove", "path": "members[value eq \"00u1\"]"},
        {"op": "add", "path": "members", "value": [{"value": "00u2", "display": "user2@okta.local"}]}
    ]));
    assert_eq!(out.resource["displayName"], "Renamed");
    assert_eq!(out.members_removed, strings(&["00u1"]));
    assert_eq!(
        out.members_added,
        [Member {
            id: "00u2".into(),
            display: Some("user2@okta.local".into())
        }]
    );
    let err = apply_group_patch(
        &g,
        &ops(json!([{"op": "replace", "value": {"id": "other", "displayName": "x"}}])),
    )
    .unwrap_err();
    assert!(matches!(err, ScimError::Mutability(_)));
}

#[test]
fn delta_stays_consistent() {
    let out = ok(json!([
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "remove", "path": "members[value eq \"a\"]"}
    ]));
    assert!(out.members_added.is_empty());
    assert_eq!(
        out.members_removed,
        strings(&["a"]),
        "a may have been a member before"
    );

    let out = ok(json!([
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "remove", "path": "members", "value": [{"value": "b"}]}
    ]));
    assert!(out.remove_all_members);
    assert_eq!(out.members_added, members(&["a"]));
    assert!(out.members_removed.is_empty());

    let out = ok(json!([
        {"op": "add", "path": "members", "value": [{"value": "x"}]},
        {"op": "replace", "path": "members", "value": [{"value": "a"}]},
        {"op": "add", "value": {"members": [{"value": "b"}, {"value": "a"}]}},
        {"op": "remove", "path": "members[value eq \"a\" or value eq \"zz\"]"}
    ]));
    assert_eq!(out.replace_members, Some(members(&["b"])));
    assert!(
        out.members_added.is_empty() && out.members_removed.is_empty() && !out.remove_all_members
    );

    let out = ok(json!([{"op": "replace", "path": "members", "value": []}]));
    assert_eq!(out.replace_members, Some(vec![]));
}

#[test]
fn bare_string_member_values_and_single_object() {
    let out = ok(json!([
        {"op": "add", "path": "members", "value": {"value": "single"}},
        {"op": "add", "path": "members", "value": ["string-id-1"]}
    ]));
    assert_eq!(out.members_added, members(&["single", "string-id-1"]));
}

/// Member ids are ours: text that no id can be (spaces, NUL, 10 KB) is refused, naming the
/// rule, rather than carried into an event and the provisioning log.
#[test]
fn member_ids_that_cannot_exist_are_refused() {
    for bad in ["string id 1", "a\u{0}b", &"x".repeat(65)] {
        let operations: Value = json!([{"op": "add", "path": "members", "value": [bad]}]);
        let ops = scim_model::parse_patch_request(&json!({ "Operations": operations })).unwrap();
        let error = apply_group_patch(&json!({"displayName": "g"}), &ops).unwrap_err();
        assert_eq!(error.scim_type(), Some("invalidValue"), "{bad:?}");
        assert!(error.detail().contains("members.value"), "{error}");
    }
    let many: Vec<Value> = (0..=scim_model::limits::MAX_MEMBERS_PER_REQUEST)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let ops = scim_model::parse_patch_request(
        &json!({"Operations": [{"op": "add", "path": "members", "value": many}]}),
    )
    .unwrap();
    let error = apply_group_patch(&json!({"displayName": "g"}), &ops).unwrap_err();
    assert_eq!(error.scim_type(), Some("tooMany"));
}

#[test]
fn errors() {
    let cases = [
        (
            json!([{"op": "remove", "path": "members[type eq \"User\"]"}]),
            "invalidFilter",
        ),
        (
            json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
            "invalidValue",
        ),
        (
            json!([{"op": "remove", "path": "displayName"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": "x"}]),
            "invalidPath",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "add", "path": "members", "value": [5]}]),
            "invalidValue",
        ),
    ];
    for (operations, scim_type) in cases {
        let err = apply_group_patch(&group(), &ops(operations.clone())).unwrap_err();
        assert_eq!(err.scim_type(), Some(scim_type), "{operations}: {err}");
    }
}

#[test]
fn external_id_and_empty_operations() {
    let out = ok(json!([{"op": "replace", "path": "externalId", "value": "new"}]));
    assert_eq!(out.resource["externalId"], "new");
    let out = ok(json!([]));
    assert_eq!(out.resource["displayName"], "Tour Guides");
    assert!(out.members_added.is_empty() && out.replace_members.is_none());
}
