//! RFC 7643 §8 example resources and the §8.7 schema representations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_model::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Member, USER_SCHEMA, matches, parse_filter,
    prepare_new_group, prepare_new_user, schema, schemas_json,
};
use serde_json::{Value, json};

#[test]
fn minimal_user_8_1() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
                 "version": "W/\"3694e05e9dff590\"", "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"}
    });
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(
        u,
        json!({"schemas": [USER_SCHEMA], "userName": "bjensen@example.com", "active": true})
    );
}

#[test]
fn enterprise_user_8_3() {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
            "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d",
                        "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    });
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(u["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert_eq!(u[ENTERPRISE_USER_SCHEMA]["costCenter"], "4130");
    assert!(
        u[ENTERPRISE_USER_SCHEMA]["manager"]
            .get("displayName")
            .is_none(),
        "readOnly"
    );
    let f = parse_filter(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division sw "theme""#,
    )
    .unwrap();
    assert!(matches(&f, &u, schema::user()));
}

#[test]
fn group_8_4() {
    let body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646",
             "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a",
             "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ],
        "meta": {"resourceType": "Group", "created": "2010-01-23T04:56:22Z"}
    });
    let (g, members) = prepare_new_group(&body).unwrap();
    assert_eq!(
        g,
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides"})
    );
    assert_eq!(
        members,
        [
            Member {
                id: "2819c223-7f76-453a-919d-413861904646".into(),
                display: Some("Babs Jensen".into())
            },
            Member {
                id: "902c246b-6245-4190-8e05-00816be7344a".into(),
                display: Some("Mandy Pepperidge".into())
            }
        ]
    );
}

fn attribute_names(schema: &Value) -> Vec<&str> {
    schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect()
}

#[test]
fn schema_representations_8_7_1() {
    let list = schemas_json();
    let find = |id: &str| {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    // §8.7.1's attributes in its order, then the common attributes `id`, `externalId` and
    // `meta` of §3.1, which §8.7.1 leaves out and Microsoft's gallery validation requires
    // (docs/idp/compatibility.md).
    let user = find(USER_SCHEMA);
    assert_eq!(
        attribute_names(&user),
        [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
            "id",
            "externalId",
            "meta"
        ]
    );
    let password = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .unwrap();
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");
    let groups = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "groups")
        .unwrap();
    assert_eq!(groups["mutability"], "readOnly");
    assert_eq!(
        groups["subAttributes"][1]["referenceTypes"],
        json!(["User", "Group"])
    );
    let ent = find(ENTERPRISE_USER_SCHEMA);
    assert_eq!(
        attribute_names(&ent),
        [
            "employeeNumber",
            "costCenter",
            "organization",
            "division",
            "department",
            "manager"
        ]
    );
    let group = find(GROUP_SCHEMA);
    assert_eq!(
        attribute_names(&group),
        ["displayName", "members", "id", "externalId", "meta"]
    );
    for s in list["Resources"].as_array().unwrap() {
        assert_eq!(
            s["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
        );
        assert_eq!(
            s["meta"]["location"],
            format!("/Schemas/{}", s["id"].as_str().unwrap())
        );
        for a in s["attributes"].as_array().unwrap() {
            for key in [
                "name",
                "type",
                "multiValued",
                "description",
                "required",
                "caseExact",
                "mutability",
                "returned",
                "uniqueness",
            ] {
                assert!(a.get(key).is_some(), "{} lacks {key}", a["name"]);
            }
        }
    }
}
