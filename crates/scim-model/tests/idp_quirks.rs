//! Identity-provider deviations from RFC 7643/7644 (design brief §5), each exercised with the
//! request body exactly as the vendor documents it. Sources, cited per test:
//!
//! - [KI] Microsoft, "Known issues and resolutions with SCIM 2.0 protocol compliance of the
//!   Microsoft Entra user provisioning service", section "Flags to alter the SCIM behavior"
//!   (the `aadOptscim062020` table; both columns must work).
//! - [DEV] Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
//!   Entra ID", sections "Design your user and group schema", "SCIM protocol requests and
//!   responses" and "Handling provisioning and deprovisioning of users" (examples 1–5).
//! - [ROLES] Microsoft, "Customize user provisioning attribute-mappings", sections "Provisioning
//!   a custom extension attribute to a SCIM compliant application" and "Provisioning a role to
//!   a SCIM app" (linked from [DEV] for role and extension attributes).
//! - [VAL] Microsoft, SCIM Validation Logic App for gallery apps: "SCIM Provisioning Validation —
//!   Test Overview" and the request bodies in `SCIMTests_Workflow.json` (AzureAD/SCIMReferenceCode).
//! - [POSTMAN] Microsoft's SCIM Postman collection (aka.ms/ProvisioningPostman,
//!   AzureAD/SCIMReferenceCode `PostmanCollection.json`), for attribute names in any case.
//! - [INBOUND] Microsoft's `SCIM Inbound.postman_collection.json` (AzureAD/SCIMReferenceCode),
//!   the requests of an Entra initial and delta cycle.
//! - [OKTA] Okta, "SCIM 2.0 Protocol Reference"; [OKTA-SPEC] Okta's "Okta SCIM 2.0 SPEC Test"
//!   (`Okta-SCIM-20-SPEC-Test.json`).
//!
//! HTTP-level behaviour (401 bodies, 200 + empty ListResponse, `startIndex`/`count`, skipping
//! unknown member ids against the directory) belongs to the gateway and is not tested here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_model::{
    ENTERPRISE_USER_SCHEMA as ENT, Filter, GroupPatchOutcome, Member, ScimError, apply_group_patch,
    apply_user_patch, is_active, matches, parse_filter, parse_patch_request, prepare_new_group,
    prepare_new_user, prepare_replaced_group, prepare_replaced_user, validate_filter,
};
use serde_json::{Value, json};

fn user_schema() -> &'static scim_model::ResourceSchema {
    scim_model::schema::user()
}

fn group_schema() -> &'static scim_model::ResourceSchema {
    scim_model::schema::group()
}

/// Applies a complete PATCH request body, envelope included, to a user.
fn patch_user(user: &Value, body: Value) -> Result<Value, ScimError> {
    apply_user_patch(user, &parse_patch_request(&body)?)
}

fn patched_user(user: &Value, body: Value) -> Value {
    patch_user(user, body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// Applies a complete PATCH request body, envelope included, to a group.
fn patched_group(group: &Value, body: Value) -> GroupPatchOutcome {
    let ops = parse_patch_request(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    apply_group_patch(group, &ops).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// Parses a filter, validates it against `schema` and evaluates it on `resource`.
fn filter_matches(filter: &str, resource: &Value, schema: &scim_model::ResourceSchema) -> bool {
    let f: Filter = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    validate_filter(&f, schema).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&f, resource, schema)
}

fn with_id(mut resource: Value, id: &str, resource_type: &str) -> Value {
    let obj = resource.as_object_mut().unwrap();
    obj.insert("id".into(), json!(id));
    obj.insert(
        "meta".into(),
        json!({"resourceType": resource_type, "created": "2018-03-27T19:59:26.000Z",
               "lastModified": "2018-03-27T19:59:26.000Z"}),
    );
    resource
}

/// The user Entra creates in [DEV] "Create User" (request body verbatim), as stored, plus a home
/// email, a work address and an employee number so that updates have something to leave alone.
fn entra_user() -> Value {
    let created = prepare_new_user(&json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    }))
    .unwrap();
    let mut u = with_id(created, "6764549bef60420686bc", "User");
    u["emails"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "home", "value": "home@example.org"}));
    u["addresses"] = json!([{"type": "work", "locality": "Redmond", "country": "US"}]);
    u["title"] = json!("Engineer");
    u[ENT] = json!({"employeeNumber": "100", "department": "R&D"});
    u
}

/// [DEV] user with only a home email and no addresses: Entra's updates must create the `work`
/// entries they address.
fn user_without_work_entries() -> Value {
    let mut u = entra_user();
    u["emails"] = json!([{"type": "home", "value": "home@example.org"}]);
    u.as_object_mut().unwrap().remove("addresses");
    u
}

fn of_type<'a>(u: &'a Value, attr: &str, t: &str) -> Vec<&'a Value> {
    u[attr]
        .as_array()
        .map(|a| a.iter().filter(|e| e["type"] == t).collect())
        .unwrap_or_default()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn members(v: &[&str]) -> Vec<Member> {
    v.iter().map(|id| Member::id(*id)).collect()
}

// ---------------------------------------------------------------------------------------------
// [KI] aadOptscim062020: every row, both columns.
// ---------------------------------------------------------------------------------------------

/// [KI] "Requests made to disable users", without and with the `aadOptscim062020` flag:
/// capitalised `Replace` with the string `"False"`, and lowercase `replace` with a boolean.
#[test]
fn ki_disable_user_both_columns() {
    let without_flag = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Replace",
                "path": "active",
                "value": "False"
            }
        ]
    });
    let with_flag = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "replace",
                "path": "active",
                "value": false
            }
        ]
    });
    for body in [without_flag, with_flag] {
        let u = patched_user(&entra_user(), body);
        assert_eq!(u["active"], json!(false), "stored as a JSON boolean");
        assert!(!is_active(&u));
        assert_eq!(
            u["userName"],
            "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
        );
    }
}

/// [KI] "Requests made to add a single-value string attribute", both columns (`Add` / `add`).
#[test]
fn ki_add_single_value_attribute_both_columns() {
    let without_flag = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
          {
            "op": "Add",
            "path": "nickName",
            "value": "Babs"
          }
        ]
    });
    let with_flag = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
          {
            "op": "add",
            "path": "nickName",
            "value": "Babs"
          }
        ]
    });
    for body in [without_flag, with_flag] {
        let u = patched_user(&entra_user(), body);
        assert_eq!(u["nickName"], "Babs");
    }
}

/// [KI] "Requests to replace multiple attributes", without the flag: one capitalised `Replace`
/// per path, including a value-filter path, `externalId` and a URN-qualified extension path
/// (whose `2.0` contains a dot).
#[test]
fn ki_replace_multiple_without_flag() {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Replace",
                "path": "displayName",
                "value": "Pvlo"
            },
            {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "TestBcwqnm@test.microsoft.com"
            },
            {
                "op": "Replace",
                "path": "name.givenName",
                "value": "Gtfd"
            },
            {
                "op": "Replace",
                "path": "name.familyName",
                "value": "Pkqf"
            },
            {
                "op": "Replace",
                "path": "externalId",
                "value": "Eqpj"
            },
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "value": "Eqpj"
            }
        ]
    });
    let u = patched_user(&entra_user(), body);
    assert_eq!(u["displayName"], "Pvlo");
    let work = of_type(&u, "emails", "work");
    assert_eq!(work.len(), 1);
    assert_eq!(work[0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(work[0]["primary"], true, "other sub-attributes kept");
    assert_eq!(
        of_type(&u, "emails", "home")[0]["value"],
        "home@example.org"
    );
    assert_eq!(u["name"]["givenName"], "Gtfd");
    assert_eq!(u["name"]["familyName"], "Pkqf");
    assert_eq!(u["name"]["formatted"], "givenName familyName");
    assert_eq!(u["externalId"], "Eqpj");
    assert_eq!(u[ENT]["employeeNumber"], "Eqpj");
    assert_eq!(u[ENT]["department"], "R&D");
}

/// [KI] "Requests to replace multiple attributes", with the flag: a path-less `replace` whose
/// `value` keys are attribute *paths* (`name.givenName`, a full enterprise URN path), not nested
/// JSON. Only the named sub-attributes change.
#[test]
fn ki_replace_multiple_with_flag() {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "replace",
                "path": "emails[type eq \"work\"].value",
                "value": "TestMhvaes@test.microsoft.com"
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
                }
            }
        ]
    });
    let u = patched_user(&entra_user(), body);
    assert_eq!(
        of_type(&u, "emails", "work")[0]["value"],
        "TestMhvaes@test.microsoft.com"
    );
    assert_eq!(
        of_type(&u, "emails", "home")[0]["value"],
        "home@example.org"
    );
    assert_eq!(u["displayName"], "Bjfe");
    assert_eq!(
        u["name"],
        json!({"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"})
    );
    assert_eq!(
        u[ENT],
        json!({"employeeNumber": "Aklq", "department": "R&D"})
    );
    assert!(
        u.get("name.givenName").is_none(),
        "keys are paths, not attribute names"
    );
    assert!(
        u.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
            .is_none()
    );
}

/// [KI] both "replace multiple attributes" bodies against a user who has no `work` email: the
/// `emails[type eq "work"].value` operation creates the element (RFC 7644 would answer
/// `noTarget`) and leaves the other emails alone.
#[test]
fn ki_replace_work_email_creates_missing_element() {
    for (op, email) in [
        ("Replace", "TestBcwqnm@test.microsoft.com"),
        ("replace", "TestMhvaes@test.microsoft.com"),
    ] {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": "emails[type eq \"work\"].value", "value": email}]
        });
        let u = patched_user(&user_without_work_entries(), body);
        assert_eq!(
            u["emails"],
            json!([
                {"type": "home", "value": "home@example.org"},
                {"type": "work", "value": email}
            ])
        );
    }
}

/// [KI] "Requests made to remove a group member", both columns: a non-RFC `value` array on
/// `Remove` of `members`, and the RFC value-filter path.
#[test]
fn ki_remove_group_member_both_columns() {
    let group = entra_group();
    let without_flag = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "Remove",
                "path": "members",
                "value": [
                    {
                        "value": "u1091"
                    }
                ]
            }
        ]
    });
    let out = patched_group(&group, without_flag);
    assert_eq!(out.members_removed, ids(&["u1091"]));
    assert!(!out.remove_all_members, "only the listed member goes");
    assert!(out.members_added.is_empty() && out.replace_members.is_none());

    let with_flag = json!({
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ],
        "Operations": [
            {
                "op": "remove",
                "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"
            }
        ]
    });
    let out = patched_group(&group, with_flag);
    assert_eq!(
        out.members_removed,
        ids(&["7f4bc1a3-285e-48ae-8202-5accb43efb0e"])
    );
    assert!(!out.remove_all_members);
}

// ---------------------------------------------------------------------------------------------
// [DEV] Entra developer tutorial.
// ---------------------------------------------------------------------------------------------

/// [DEV] "Update User [Multi-valued properties]" against a user without a work email: the
/// filtered path creates `{"type": "work", "value": …}`; the other email is untouched.
#[test]
fn dev_update_multi_valued_creates_missing_work_email() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
                {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "updatedEmail@microsoft.com"
                },
                {
                "op": "Replace",
                "path": "name.familyName",
                "value": "updatedFamilyName"
                }
        ]
    });
    let u = patched_user(&user_without_work_entries(), body.clone());
    assert_eq!(
        of_type(&u, "emails", "work")[0]["value"],
        "updatedEmail@microsoft.com"
    );
    assert_eq!(
        of_type(&u, "emails", "home")[0]["value"],
        "home@example.org"
    );
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    assert_eq!(u["name"]["givenName"], "givenName");
    // Applied again (Entra retries): still exactly one work email.
    let again = patched_user(&u, body);
    assert_eq!(of_type(&again, "emails", "work").len(), 1);
}

/// [DEV] attribute table targets `addresses[type eq "work"].postalCode` and
/// `.streetAddress`, and `addresses[type eq "other"].Formatted` / `emails[type eq "other"].Value`
/// (capitalised sub-attribute as the table spells it), on a user with no such entries.
#[test]
fn dev_address_and_other_email_targets_create_elements() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
            {"op": "Add", "path": "addresses[type eq \"other\"].Formatted", "value": "Building 92"},
            {"op": "Add", "path": "emails[type eq \"other\"].Value", "value": "proxy@contoso.com"}
        ]
    });
    let u = patched_user(&user_without_work_entries(), body);
    assert_eq!(
        u["addresses"],
        json!([
            {"type": "work", "streetAddress": "1 Microsoft Way", "postalCode": "98052"},
            {"type": "other", "formatted": "Building 92"}
        ])
    );
    assert_eq!(
        u["emails"],
        json!([
            {"type": "home", "value": "home@example.org"},
            {"type": "other", "value": "proxy@contoso.com"}
        ])
    );
}

/// [DEV] "Disable User": the user stays a complete resource with `active: false`, and the
/// lookups Entra and the validator run afterwards still find it.
#[test]
fn dev_disabled_user_stays_filterable() {
    let body = json!({
        "Operations": [
            {
                "op": "Replace",
                "path": "active",
                "value": false
            }
        ],
        "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        ]
    });
    let u = patched_user(&entra_user(), body);
    assert_eq!(u["active"], false);
    let s = user_schema();
    assert!(filter_matches(
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
        &u,
        s
    ));
    assert!(filter_matches(
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        &u,
        s
    ));
    assert!(filter_matches("active eq false", &u, s));
    assert!(!filter_matches("active eq true", &u, s));
}

/// [DEV] "Get User by query", "Get User by query - Zero results", "Get Group by displayName",
/// the `/Users` rule that `userName eq "user@contoso.com"` and
/// `emails[type eq "work"].value eq "user@contoso.com"` must both work, and example 1
/// (`externalId eq jyoung`, unquoted).
#[test]
fn dev_lookup_filters() {
    let s = user_schema();
    let u = entra_user();
    assert!(filter_matches(
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
        &u,
        s
    ));
    assert!(!filter_matches(r#"userName eq "non-existent user""#, &u, s));
    // userName is case-insensitive (RFC 7643 caseExact false).
    assert!(filter_matches(
        r#"userName eq "TEST_USER_00AA00AA-BB11-CC22-DD33-44EE44EE44EE""#,
        &u,
        s
    ));

    let mut contoso = entra_user();
    contoso["userName"] = json!("user@contoso.com");
    contoso["emails"][0]["value"] = json!("user@contoso.com");
    assert!(filter_matches(
        r#"userName eq "user@contoso.com""#,
        &contoso,
        s
    ));
    assert!(filter_matches(
        r#"emails[type eq "work"].value eq "user@contoso.com""#,
        &contoso,
        s
    ));
    assert!(!filter_matches(
        r#"emails[type eq "home"].value eq "user@contoso.com""#,
        &contoso,
        s
    ));

    let mut jyoung = entra_user();
    jyoung["externalId"] = json!("jyoung");
    assert!(filter_matches("externalId eq jyoung", &jyoung, s));
    assert!(!filter_matches("externalId eq jyoung", &u, s));
    assert!(
        !filter_matches("externalId eq JYOUNG", &jyoung, s),
        "externalId is caseExact"
    );

    let g = entra_group();
    assert!(filter_matches(
        r#"displayName eq "displayName""#,
        &g,
        group_schema()
    ));
    assert!(!filter_matches(
        r#"displayName eq "other""#,
        &g,
        group_schema()
    ));
}

/// [DEV] example 4, "Query the value of a reference attribute to be updated": Entra checks
/// whether `manager` already has a value with `id eq … and manager eq …` (unquoted GUIDs, the
/// unqualified extension attribute `manager`). The current page lists only the parsed
/// parameters (`ID`, `manager`); the request line is from the page's earlier revision.
#[test]
fn dev_manager_reference_check_filter() {
    let s = user_schema();
    let mut u = entra_user();
    u["id"] = json!("54D382A4-2050-4C03-94D1-E769F1D15682");
    u[ENT]["manager"] = json!({"value": "2819c223-7f76-453a-919d-413861904646"});
    assert!(filter_matches(
        "id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646",
        &u,
        s
    ));
    assert!(filter_matches(
        r#"ID eq "54D382A4-2050-4C03-94D1-E769F1D15682" and manager eq "2819c223-7f76-453a-919d-413861904646""#,
        &u,
        s
    ));
    assert!(!filter_matches(
        "id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        &u,
        s
    ));
}

/// [DEV] example 5, "Request from Microsoft Entra ID to an SCIM endpoint to update a user":
/// `Add` on the unqualified path `manager` with a one-element array value.
#[test]
fn dev_add_manager_as_array() {
    let body = json!({
        "schemas":
        [
          "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":
        [
          {
            "op":"Add",
            "path":"manager",
            "value":
              [
                {
                  "$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                  "value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]});
    let u = patched_user(&entra_user(), body);
    assert_eq!(
        u[ENT]["manager"],
        json!({
            "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
        })
    );
    assert!(
        u["schemas"].as_array().unwrap().contains(&json!(ENT)),
        "manager lives in the enterprise extension"
    );
}

/// [DEV] "Design your user and group schema" example payload: the enterprise `manager` is a
/// plain string id, and a custom extension (`CustomExtensionName`) this server does not define
/// is ignored rather than rejected. (The page's JSON has a trailing comma after `"tag"`; it is
/// removed here so the body parses.)
#[test]
fn dev_schema_example_manager_as_string_and_custom_extension() {
    let body: Value = serde_json::from_str(
        r#"{
     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
      "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"],
     "userName":"bjensen@testuser.com",
     "id": "48af03ac28ad4fb88478",
     "externalId":"bjensen",
     "name":{
       "familyName":"Jensen",
       "givenName":"Barbara"
     },
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
     "manager": "123456"
   },
     "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {
     "tag": "701984"
   },
   "meta": {
     "resourceType": "User",
     "created": "2010-01-23T04:56:22Z",
     "lastModified": "2011-05-13T04:42:34Z",
     "version": "W\/\"3694e05e9dff591\"",
     "location":
 "https://example.com/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
   }
}"#,
    )
    .unwrap();
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(u[ENT], json!({"manager": {"value": "123456"}}));
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT])
    );
    assert!(
        u.get("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User")
            .is_none()
    );
    assert!(
        u.get("id").is_none() && u.get("meta").is_none(),
        "server-owned"
    );
}

/// [ROLES] "Example representation of a user with an extension attribute": the manager's
/// read-only `displayName` is dropped, `value` and `$ref` kept; the custom extension is ignored.
/// (Trailing comma after `"CustomAttribute"` removed so the body parses.)
#[test]
fn roles_doc_user_with_enterprise_and_custom_extension() {
    let body: Value = serde_json::from_str(
        r#"{
  "schemas": [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
  ],
  "userName": "bjensen",
  "id": "48af03ac28ad4fb88478",
  "externalId": "bjensen",
  "name": {
    "formatted": "Ms. Barbara J Jensen III",
    "familyName": "Jensen",
    "givenName": "Barbara"
  },
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984",
    "costCenter": "4130",
    "organization": "Universal Studios",
    "division": "Theme Park",
    "department": "Tour Operations",
    "manager": {
      "value": "26118915-6090-4610-87e4-49d8ca9f808d",
      "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
      "displayName": "John Smith"
    }
  },
  "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {
    "CustomAttribute": "701984"
  },
  "meta": {
    "resourceType": "User",
    "created": "2010-01-23T04:56:22Z",
    "lastModified": "2011-05-13T04:42:34Z",
    "version": "W\/\"3694e05e9dff591\"",
    "location": "https://example.com/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
  }
}"#,
    )
    .unwrap();
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(
        u[ENT]["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d",
               "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"})
    );
    assert_eq!(u[ENT]["department"], "Tour Operations");
    assert_eq!(u.as_object().unwrap().len(), 6, "{u}");
}

/// [DEV] "Update Group [Non-member attributes]", "[Add Members]" and "[Remove Members]", each
/// sent as its own request as the tutorial shows (`"$ref": null`, capitalised ops, `value` array
/// on `Remove`).
#[test]
fn dev_group_updates() {
    let g = entra_group();
    let out = patched_group(
        &g,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
            }]
        }),
    );
    assert_eq!(
        out.resource["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    assert!(out.members_added.is_empty() && out.members_removed.is_empty());

    let out = patched_group(
        &g,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Add",
                "path": "members",
                "value": [{
                    "$ref": null,
                    "value": "f648f8d5ea4e4cd38e9c"
                }]
            }]
        }),
    );
    assert_eq!(out.members_added, members(&["f648f8d5ea4e4cd38e9c"]));

    let out = patched_group(
        &g,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Remove",
                "path": "members",
                "value": [{
                    "$ref": null,
                    "value": "f648f8d5ea4e4cd38e9c"
                }]
            }]
        }),
    );
    assert_eq!(out.members_removed, ids(&["f648f8d5ea4e4cd38e9c"]));
    assert!(!out.remove_all_members);
}

/// The group Entra creates in [DEV] "Create Group" (request body verbatim, including the
/// non-standard Microsoft schema URI), as stored.
fn entra_group() -> Value {
    let (g, members) = prepare_new_group(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {
            "resourceType": "Group"
        }
    }))
    .unwrap();
    assert!(members.is_empty());
    assert_eq!(
        g["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
    );
    with_id(g, "a99962b9f99d4c4fac67", "Group")
}

// ---------------------------------------------------------------------------------------------
// [ROLES] app roles.
// ---------------------------------------------------------------------------------------------

/// [ROLES] "SingleAppRoleAssignment": the POST carries a role object; the PATCH carries the
/// role as a JSON *string* inside `value` (with `displayName`, not `display`).
#[test]
fn roles_single_app_role_assignment() {
    let created = prepare_new_user(&json!({
      "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
      ],
      "externalId": "alias",
      "userName": "alias@contoso.OnMicrosoft.com",
      "active": true,
      "displayName": "First Name Last Name",
      "meta": {
        "resourceType": "User"
      },
      "roles": [
        {
          "primary": true,
          "type": "WindowsAzureActiveDirectoryRole",
          "value": "Admin"
        }
      ]
    }))
    .unwrap();
    assert_eq!(
        created["roles"],
        json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    );

    let u = patched_user(
        &with_id(
            json!({"userName": "alias@contoso.OnMicrosoft.com"}),
            "u1",
            "User",
        ),
        json!({
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
          ],
          "Operations": [
            {
              "op": "Add",
              "path": "roles",
              "value": [
                {
                  "value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"
                }
              ]
            }
          ]
        }),
    );
    assert_eq!(u["roles"], json!([{"value": "25", "display": "Role1234"}]));
}

/// [ROLES] "AppRoleAssignmentsComplex": the POST names the role's label `displayName` (the
/// RFC sub-attribute is `display`); the PATCH sends each role as a JSON string.
#[test]
fn roles_app_role_assignments_complex() {
    let created = prepare_new_user(&json!({
      "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
      ],
      "externalId": "alias",
      "userName": "alias@contoso.OnMicrosoft.com",
      "active": true,
      "displayName": "First Name Last Name",
      "meta": {
        "resourceType": "User"
      },
      "roles": [
        {
          "primary": false,
          "type": "WindowsAzureActiveDirectoryRole",
          "displayName": "Admin",
          "value": "Admin"
        },
        {
          "primary": false,
          "type": "WindowsAzureActiveDirectoryRole",
          "displayName": "User",
          "value": "User"
        }
      ]
    }))
    .unwrap();
    assert_eq!(
        created["roles"],
        json!([
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"},
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"}
        ])
    );

    let base = with_id(
        json!({"userName": "alias@contoso.OnMicrosoft.com"}),
        "u1",
        "User",
    );
    let u = patched_user(
        &base,
        json!({
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
          ],
          "Operations": [
            {
              "op": "Add",
              "path": "roles",
              "value": [
                {
                  "value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"
                },
                {
                  "value": "{\"id\":\"06b07648-ecfe-599f-9d2f-6325724a46ee\",\"value\":\"User\",\"displayName\":\"User\"}"
                }
              ]
            }
          ]
        }),
    );
    assert_eq!(
        u["roles"],
        json!([{"value": "Admin", "display": "Admin"}, {"value": "User", "display": "User"}])
    );
}

/// [ROLES] "AssertiveAppRoleAssignmentsComplex": a `replace` of the whole `roles` list removes
/// roles no longer assigned.
#[test]
fn roles_assertive_replace() {
    let mut base = with_id(
        json!({"userName": "contoso@alias.onmicrosoft.com"}),
        "u1",
        "User",
    );
    base["roles"] = json!([{"value": "Old", "display": "Old"}]);
    let u = patched_user(
        &base,
        json!({
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
          ],
          "Operations": [
            {
              "op": "replace",
              "path": "roles",
              "value": [
                {
                  "primary": false,
                  "type": "WindowsAzureActiveDirectoryRole",
                  "display": "User",
                  "value": "User"
                },
                {
                  "primary": false,
                  "type": "WindowsAzureActiveDirectoryRole",
                  "display": "Test",
                  "value": "Test"
                }
              ]
            }
          ]
        }),
    );
    assert_eq!(
        u["roles"],
        json!([
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Test", "value": "Test"}
        ])
    );
}

/// [ROLES] SingleAppRoleAssignment target attributes `roles[primary eq "True"].value`,
/// `.display` and `.type` (the boolean written as the string `"True"`), used as PATCH paths on
/// a user without roles: one primary role is created and then updated in place.
#[test]
fn roles_primary_true_string_paths() {
    let base = with_id(
        json!({"userName": "alias@contoso.OnMicrosoft.com"}),
        "u1",
        "User",
    );
    let body = |value: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Add", "path": "roles[primary eq \"True\"].value", "value": value},
                {"op": "Add", "path": "roles[primary eq \"True\"].display", "value": value},
                {"op": "Add", "path": "roles[primary eq \"True\"].type", "value": "WindowsAzureActiveDirectoryRole"}
            ]
        })
    };
    let u = patched_user(&base, body("Admin"));
    assert_eq!(
        u["roles"],
        json!([{"primary": true, "value": "Admin", "display": "Admin",
                "type": "WindowsAzureActiveDirectoryRole"}])
    );
    let u = patched_user(&u, body("Reader"));
    assert_eq!(u["roles"].as_array().unwrap().len(), 1);
    assert_eq!(u["roles"][0]["value"], "Reader");
}

// ---------------------------------------------------------------------------------------------
// [VAL] gallery validation Logic App.
// ---------------------------------------------------------------------------------------------

/// A user with every optional attribute the null-update test may target.
fn user_with_optional_attributes() -> Value {
    let mut u = entra_user();
    u["displayName"] = json!("Display");
    u["phoneNumbers"] = json!([{"type": "mobile", "value": "+1 555 0100"}]);
    u
}

/// Attribute values the null-update test reads back, the way its verification does: the first
/// element of the filtered type for `[type eq …]` targets, the sub-attribute for dotted ones,
/// the extension object for URN ones. `Null` means empty or absent, which the test accepts.
fn read_back(u: &Value, target: &str) -> Value {
    let v = match target {
        "emails[type eq \"work\"].value" => of_type(u, "emails", "work")
            .first()
            .and_then(|e| e.get("value"))
            .cloned(),
        "phoneNumbers[type eq \"mobile\"].value" => of_type(u, "phoneNumbers", "mobile")
            .first()
            .and_then(|e| e.get("value"))
            .cloned(),
        "addresses[type eq \"work\"].locality" => of_type(u, "addresses", "work")
            .first()
            .and_then(|e| e.get("locality"))
            .cloned(),
        "name.givenName" => u.get("name").and_then(|n| n.get("givenName")).cloned(),
        t if t.starts_with("urn:") => {
            let (urn, attr) = t.rsplit_once(':').unwrap();
            u.get(urn).and_then(|e| e.get(attr)).cloned()
        }
        t => u.get(t).cloned(),
    };
    match v {
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v,
        None => Value::Null,
    }
}

const NULL_TARGETS: [&str; 7] = [
    "displayName",
    "title",
    "name.givenName",
    "emails[type eq \"work\"].value",
    "phoneNumbers[type eq \"mobile\"].value",
    "addresses[type eq \"work\"].locality",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
];

/// [VAL] test 16 `SCIM_Null_Update_Test`, verbose form (`Compose_Null_Patch_Op` /
/// `Select_Null_Patch_Ops_Phase2`): phase 1 sends `{"op": "replace", "path": <target>,
/// "value": ""}` for every mapped optional attribute, phase 2 the same with `null`. Both must
/// succeed and leave the attributes empty. The targets are a typical default Entra mapping
/// (the workflow builds them from the app's mappings).
#[test]
fn val_null_update_verbose() {
    let mut u = user_with_optional_attributes();
    for (phase, empty) in [("phase 1", json!("")), ("phase 2", Value::Null)] {
        let operations: Vec<Value> = NULL_TARGETS
            .iter()
            .map(|t| json!({"op": "replace", "path": t, "value": empty}))
            .collect();
        u = patched_user(
            &u,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations
            }),
        );
        for t in NULL_TARGETS {
            assert_eq!(read_back(&u, t), Value::Null, "{phase}: {t} in {u}");
        }
    }
    assert_eq!(
        u["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    assert_eq!(
        of_type(&u, "emails", "home")[0]["value"],
        "home@example.org"
    );
    assert_eq!(
        u[ENT]["employeeNumber"], "100",
        "untargeted extension attributes stay"
    );
}

/// [VAL] test 16, non-verbose form (`Compose_SCIM_Null_Patch_Body` /
/// `Compose_Null_Patch_Request_Phase2`): filtered targets keep their own operation, all other
/// targets are batched into one path-less `replace` whose keys are attribute paths.
#[test]
fn val_null_update_batched() {
    let mut u = user_with_optional_attributes();
    for (phase, empty) in [("phase 1", json!("")), ("phase 2", Value::Null)] {
        let mut operations: Vec<Value> = NULL_TARGETS
            .iter()
            .filter(|t| t.contains('['))
            .map(|t| json!({"op": "replace", "path": t, "value": empty}))
            .collect();
        let batch: serde_json::Map<String, Value> = NULL_TARGETS
            .iter()
            .filter(|t| !t.contains('['))
            .map(|t| (t.to_string(), empty.clone()))
            .collect();
        operations.push(json!({"op": "replace", "value": batch}));
        u = patched_user(
            &u,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations
            }),
        );
        for t in NULL_TARGETS {
            assert_eq!(read_back(&u, t), Value::Null, "{phase}: {t} in {u}");
        }
    }
    assert_eq!(u["name"]["familyName"], "familyName");
}

/// [VAL] test 25 `SCIM_Update_Manager_Test`: set with `Add` and a plain string id, change with
/// `replace` and a plain string id, remove with `replace` and `""`. The validator reads
/// `urn:…:enterprise:2.0:User.manager.value` after each step.
#[test]
fn val_update_manager_set_change_remove() {
    let mut u = entra_user();
    for (body, expected) in [
        (
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "Add",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                    "value": "mgr-1"
                }]
            }),
            Some("mgr-1"),
        ),
        (
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                    "value": "mgr-2"
                }]
            }),
            Some("mgr-2"),
        ),
        (
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                    "value": ""
                }]
            }),
            None,
        ),
    ] {
        u = patched_user(&u, body);
        let manager = &u[ENT]["manager"];
        match expected {
            Some(id) => assert_eq!(manager, &json!({"value": id})),
            None => assert!(manager.is_null(), "{u}"),
        }
    }
    assert_eq!(
        u[ENT]["department"], "R&D",
        "the rest of the extension stays"
    );
}

// ---------------------------------------------------------------------------------------------
// [INBOUND] the manager path with a `.` after the extension URN.
// ---------------------------------------------------------------------------------------------

/// [INBOUND] "Update User (manager)" (`{{lastManagerUserId}}` filled in): the path joins the
/// enterprise URN and `manager` with a `.`, and the value is the manager's id as a string. The
/// same form works for other enterprise and core attributes, and in filters.
#[test]
fn inbound_manager_path_with_a_dot() {
    let user = prepare_new_user(&json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "camw",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Markets",
            "manager": {"value": "old-manager"}
        }
    }))
    .unwrap();
    let patched = patched_user(
        &user,
        json!({
            "schemas": [
                "urn:ietf:params:scim:api:messages:2.0:PatchOp"
            ],
            "Operations": [
                {
                    "op": "replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager",
                    "value": "2819c223-7f76-453a-919d-413861904646"
                }
            ]
        }),
    );
    assert_eq!(
        patched[ENT],
        json!({"department": "Markets", "manager": {"value": "2819c223-7f76-453a-919d-413861904646"}})
    );

    let patched = patched_user(
        &patched,
        json!({"Operations": [
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department", "value": "Sales"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User.name.familyName", "value": "White"}
        ]}),
    );
    assert_eq!(patched[ENT]["department"], "Sales");
    assert_eq!(patched["name"]["familyName"], "White");
    assert!(filter_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value eq "2819c223-7f76-453a-919d-413861904646""#,
        &patched,
        user_schema()
    ));

    // A misspelled attribute after the dot is still an unknown path, not silently ignored.
    let error = patch_user(
        &patched,
        json!({"Operations": [{"op": "replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manger",
            "value": "x"}]}),
    )
    .unwrap_err();
    assert_eq!(error.scim_type(), Some("invalidPath"));
}

// ---------------------------------------------------------------------------------------------
// [POSTMAN] attribute names in any case.
// ---------------------------------------------------------------------------------------------

/// [POSTMAN] "Post EnterpriseUser" body (`Primary`, `Department`, `Manager` / `Value` in other
/// cases than the schema's; `{{$guid}}` filled in) and "Get User Filters"
/// (`DisplayName eq "BobIsAmazing"`), plus the same case freedom in other filter paths.
#[test]
fn postman_attribute_names_in_any_case() {
    let u = prepare_new_user(&json!({
        "userName": "UserName222",
        "active": true,
        "displayName": "lennay",
        "schemas": [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:User"
        ],
      "externalId": "8d1a8a4e-5c49-4e61-a0d4-2b2c4f1c1f3a",
        "name": {
            "formatted": "Adrew Ryan",
            "familyName": "Ryan",
            "givenName": "Andrew"
        },
        "emails": [
            {
                "Primary": true,
                "type": "work",
                "value": "testing@bob2.com"
            },
            {
                "Primary": false,
                "type": "home",
                "value": "testinghome@bob3.com"
            }
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "Department": "bob",
                "Manager" : { "Value": "SuzzyQ" }
        }
    }))
    .unwrap();
    assert_eq!(
        u["emails"],
        json!([
            {"primary": true, "type": "work", "value": "testing@bob2.com"},
            {"primary": false, "type": "home", "value": "testinghome@bob3.com"}
        ])
    );
    assert_eq!(
        u[ENT],
        json!({"department": "bob", "manager": {"value": "SuzzyQ"}})
    );

    let mut bob = u.clone();
    bob["displayName"] = json!("BobIsAmazing");
    assert!(filter_matches(
        r#"DisplayName eq "BobIsAmazing""#,
        &bob,
        user_schema()
    ));
    assert!(filter_matches(
        r#"Department eq "BOB""#,
        &bob,
        user_schema()
    ));
    assert!(filter_matches(
        r#"Manager.Value eq "SuzzyQ""#,
        &bob,
        user_schema()
    ));
    assert!(filter_matches(
        r#"Emails[Type eq "work"].Value eq "TESTING@bob2.com""#,
        &bob,
        user_schema()
    ));
}

// ---------------------------------------------------------------------------------------------
// [OKTA] SCIM 2.0 Protocol Reference and SPEC test.
// ---------------------------------------------------------------------------------------------

/// The user Okta creates in [OKTA] "Create the User" (request body verbatim), as stored.
fn okta_user() -> Value {
    let created = prepare_new_user(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {
            "givenName": "Test",
            "familyName": "User"
        },
        "emails": [{
            "primary": true,
            "value": "test.user@okta.local",
            "type": "work"
        }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    }))
    .unwrap();
    assert!(created.get("password").is_none() && created.get("groups").is_none());
    with_id(created, "23a35c27-23d3-4c03-b4c5-6443c09e7173", "User")
}

/// [OKTA] "Determine if the User already exists" (`userName eq "test.user@okta.local"`, URL
/// decoded) and [OKTA-SPEC] "Username Case Sensitivity Check" (the same userName in capitals
/// must find the user) and "Make sure random user doesn't exist".
#[test]
fn okta_lookup_filters() {
    let u = okta_user();
    let s = user_schema();
    assert!(filter_matches(
        r#"userName eq "test.user@okta.local""#,
        &u,
        s
    ));
    assert!(filter_matches(
        r#"userName eq "TEST.USER@OKTA.LOCAL""#,
        &u,
        s
    ));
    assert!(!filter_matches(
        r#"userName eq "random.user@okta.local""#,
        &u,
        s
    ));
    assert!(filter_matches(
        r#"externalId eq "00ujl29u0le5T6Aj10h7""#,
        &u,
        s
    ));
}

/// [OKTA-SPEC] "Create Okta user with realistic values" body (its `{{random…}}` placeholders
/// filled in): stored with `active: true`, `name` and the work email as sent.
#[test]
fn okta_spec_create_user() {
    let u = prepare_new_user(&json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Bettye.Hagenes@example.com","name":{"givenName":"Bettye","familyName":"Hagenes"},"emails":[{"primary":true,"value":"Bettye.Hagenes@example.com","type":"work"}],"displayName":"Bettye Hagenes","active":true})).unwrap();
    assert_eq!(u["active"], true);
    assert_eq!(
        u["name"],
        json!({"givenName": "Bettye", "familyName": "Hagenes"})
    );
    assert_eq!(u["userName"], "Bettye.Hagenes@example.com");
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

/// [OKTA] "Update the User" (PUT): the body echoes `id`, `meta` and `groups`, which are
/// server-owned; the new `middleName` is stored. Attributes Okta omits (here `externalId`,
/// `displayName`, `locale`) are cleared, as PUT replaces.
#[test]
fn okta_put_update_user() {
    let existing = okta_user();
    let u = prepare_replaced_user(
        &existing,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
            "userName": "test.user@okta.local",
            "name": {
                "givenName": "Another",
                "middleName": "Excited",
                "familyName": "User"
            },
            "emails": [{
                "primary": true,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local"
            }],
            "active": true,
            "groups": [],
            "meta": {
                "resourceType": "User"
            }
        }),
    )
    .unwrap();
    assert_eq!(u["id"], existing["id"]);
    assert_eq!(
        u["meta"], existing["meta"],
        "meta is the server's, not Okta's echo"
    );
    assert_eq!(
        u["name"],
        json!({"givenName": "Another", "middleName": "Excited", "familyName": "User"})
    );
    assert_eq!(u["emails"][0]["display"], "test.user@okta.local");
    assert!(u.get("groups").is_none());
    for cleared in ["externalId", "displayName", "locale"] {
        assert!(u.get(cleared).is_none(), "{cleared}");
    }
}

/// [OKTA] "Update a specific User (PATCH)", deactivation: a path-less `replace` of
/// `{"active": false}`. The user stays readable and is still found by the userName lookup.
#[test]
fn okta_deactivate_user() {
    let u = patched_user(
        &okta_user(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "value": {
                    "active": false
                }
            }]
        }),
    );
    assert_eq!(u["active"], false);
    assert_eq!(u["name"]["givenName"], "Test", "nothing else changes");
    assert!(filter_matches(
        r#"userName eq "test.user@okta.local""#,
        &u,
        user_schema()
    ));
    // Reactivation is the same request with `true`.
    let u = patched_user(
        &u,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": true}}]
        }),
    );
    assert!(is_active(&u));
}

/// The group Okta pushes in [OKTA] "Create Groups" (request body verbatim), as stored.
fn okta_group() -> Value {
    let (g, members) = prepare_new_group(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Test SCIMv2",
        "members": []
    }))
    .unwrap();
    assert!(members.is_empty());
    with_id(g, "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "Group")
}

/// [OKTA] "Update a specific Group name": a path-less `replace` that echoes the group's own
/// `id` next to the new `displayName` (sent with every membership update).
#[test]
fn okta_group_rename() {
    let out = patched_group(
        &okta_group(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "value": {
                    "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
                    "displayName": "Test SCIMv20"
                }
            }]
        }),
    );
    assert_eq!(out.resource["displayName"], "Test SCIMv20");
    assert_eq!(out.resource["id"], "abf4dd94-a4c0-4f67-89c9-76b03340cb9b");
    assert!(out.members_added.is_empty() && out.members_removed.is_empty());
}

/// [OKTA] "Update specific Group membership": remove by value filter, add with a `display`.
/// Whether the ids exist is for the directory to decide; the model reports the delta.
#[test]
fn okta_group_membership_patch() {
    let out = patched_group(
        &okta_group(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                  "op": "remove",
                  "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"
                },
                {
                  "op": "add",
                  "path": "members",
                  "value": [{
                      "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                      "display": "test.user@okta.local"
                }]
            }]
        }),
    );
    assert_eq!(
        out.members_removed,
        ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])
    );
    assert_eq!(
        out.members_added,
        [okta_member("23a35c27-23d3-4c03-b4c5-6443c09e7173")]
    );
    assert!(!out.remove_all_members && out.replace_members.is_none());
}

/// [OKTA] "Update specific Group membership", full push: `replace` of `members`.
#[test]
fn okta_group_replace_members() {
    let out = patched_group(
        &okta_group(),
        json!({
          "schemas": [
            "urn:ietf:params:scim:api:messages:2.0:PatchOp"
          ],
          "Operations": [
            {
              "op": "replace",
              "path": "members",
              "value": [
                {
                  "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                  "display": "test.user@okta.local"
                },
                {
                  "value": "89bb1940-b905-4575-9e7f-6f887cfb368e",
                  "display": "test.user@okta.local"
                }
              ]
            }
          ]
        }),
    );
    assert_eq!(
        out.replace_members,
        Some(vec![
            okta_member("23a35c27-23d3-4c03-b4c5-6443c09e7173"),
            okta_member("89bb1940-b905-4575-9e7f-6f887cfb368e")
        ])
    );
}

/// Okta names each member it pushes by the user's login, kept as the member's `display`.
fn okta_member(id: &str) -> Member {
    Member {
        id: id.into(),
        display: Some("test.user@okta.local".into()),
    }
}

/// [OKTA] AIW integrations send group renames and membership as PUT. The reference shows no PUT
/// body, so this sends the group representation from "Retrieve specific Groups" (`members`
/// with `display`): it replaces the member list; `id`/`meta` stay the server's.
#[test]
fn okta_group_put() {
    let existing = okta_group();
    let (g, members) = prepare_replaced_group(
        &existing,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
            "displayName": "Test SCIMv2",
            "members":  [{
                "value": "b1c794f24f4c49f4b5d503a4cb2686ea",
                "display": "SCIM 2 Group A"
            }],
            "meta": {
                "resourceType": "Group"
            }
        }),
    )
    .unwrap();
    assert_eq!(g["id"], existing["id"]);
    assert_eq!(g["meta"], existing["meta"]);
    assert_eq!(
        members,
        [Member {
            id: "b1c794f24f4c49f4b5d503a4cb2686ea".into(),
            display: Some("SCIM 2 Group A".into())
        }]
    );
}
