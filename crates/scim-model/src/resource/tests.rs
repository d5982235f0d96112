//! Tests of resource preparation, validation and attribute selection.

#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

#[test]
fn normalizes_user_names() {
    assert_eq!(
        normalize_user_name("  BJensen@Example.COM "),
        "bjensen@example.com"
    );
    assert_eq!(normalize_user_name("ÅSA"), "åsa");
    // Tabs, newlines and Unicode spaces (U+3000, U+00A0) around a name are not part of it.
    assert_eq!(normalize_user_name("\t\u{3000}Alice\u{a0}\n"), "alice");
}

/// Each pair is one identity written two ways; both must give the same key.
#[test]
fn user_name_identity_is_nfkc_with_full_case_folding() {
    let same = [
        // fullwidth forms, as Japanese IMEs type them
        ("ａｌｉｃｅ@ｃｏｎｔｏｓｏ.ｃｏｍ", "alice@contoso.com"),
        ("ＡＬＩＣＥ@contoso.com", "alice@contoso.com"),
        // ligatures
        ("ﬁnn@example.com", "finn@example.com"),
        ("ﬀ", "FF"),
        // full case folding: ß and ẞ fold to "ss", which lowercase would not do
        ("straße", "STRASSE"),
        ("STRAẞE", "strasse"),
        // the dz digraph in its three cases, and as two letters
        ("Ǆ", "ǆ"),
        ("ǅ", "dž"),
        // Kelvin sign and Ångström sign
        ("\u{212a}elvin", "kelvin"),
        ("\u{212b}ngström", "ångström"),
        // composed é (U+00E9) and decomposed e + U+0301
        ("jos\u{e9}@example.com", "jose\u{301}@example.com"),
        ("JOSE\u{301}", "jos\u{e9}"),
        // superscripts and circled digits are compatibility forms of plain ones
        ("user²", "user2"),
        ("user①", "user1"),
        // Greek final sigma folds to σ
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
        // folding decomposes ΐ; the second NFKC composes it again
        ("\u{390}", "\u{3b9}\u{308}\u{301}"),
        // Unicode 17 case pairs, which caseless's Unicode 16 tables do not fold
        ("\u{a7ce}", "\u{a7cf}"),
        ("\u{16ea0}", "\u{16ebb}"),
    ];
    for (a, b) in same {
        assert_eq!(
            normalize_user_name(a),
            normalize_user_name(b),
            "{a:?} and {b:?} are the same user"
        );
    }
    assert_eq!(normalize_user_name("ａｌｉｃｅ"), "alice");
    assert_eq!(normalize_user_name("ﬁ"), "fi");
    assert_eq!(normalize_user_name("ß"), "ss");
    assert_eq!(normalize_user_name("\u{212a}"), "k");
    assert_eq!(normalize_user_name("e\u{301}"), "\u{e9}");
}

#[test]
fn turkish_dotted_capital_i_keeps_its_dot() {
    // Full case folding is language-neutral: İ (U+0130) folds to "i" + U+0307 COMBINING DOT
    // ABOVE, which has no precomposed form, so it is neither "i" nor the dotless "ı". Turkish
    // users named with İ and I are distinct from users named with i, as in every other locale.
    assert_eq!(normalize_user_name("İ"), "i\u{307}");
    assert_eq!(
        normalize_user_name("İSTANBUL"),
        normalize_user_name("i\u{307}stanbul")
    );
    assert_ne!(
        normalize_user_name("İstanbul"),
        normalize_user_name("istanbul")
    );
    assert_ne!(
        normalize_user_name("ıstanbul"),
        normalize_user_name("istanbul")
    );
    assert_eq!(normalize_user_name("ISTANBUL"), "istanbul");
}

#[test]
fn distinct_user_names_stay_distinct() {
    let distinct = [
        "alice",
        "alicé",
        "alice1",
        "alice.smith",
        "alice_smith",
        "alise",
        "ålice",
        "ss",
        "s",
        "fi",
        "f",
        "k",
        "ı",
        "i",
        "i\u{307}",
        "ο",
        "o",
        "а", // Cyrillic a: a confusable, not a compatibility form; NFKC leaves it alone
        "a",
        "",
    ];
    let keys: std::collections::BTreeSet<String> = distinct
        .iter()
        .map(|name| normalize_user_name(name))
        .collect();
    assert_eq!(keys.len(), distinct.len(), "{keys:?}");
}

#[test]
fn plain_ascii_keys_are_the_old_lowercase_keys() {
    // Claims and rows written before full case folding keep their keys for ASCII names.
    for name in [
        "bjensen@example.com",
        "Test_User_00aa",
        " MiXeD.Case-1+tag@Example.ORG ",
    ] {
        assert_eq!(normalize_user_name(name), name.trim().to_lowercase());
    }
}

#[test]
fn the_ascii_shortcut_gives_the_key_the_full_folding_gives() {
    let every_ascii: String = (0u8..128).map(char::from).collect();
    assert_eq!(fold_user_name(&every_ascii), fold_unicode(&every_ascii));
    for name in [
        "bjensen@example.com",
        "Test_User_00aa",
        "MiXeD.Case-1+tag@Example.ORG",
    ] {
        assert_eq!(fold_user_name(name), fold_unicode(name));
    }
}

#[test]
fn fragments_fold_like_names_but_keep_their_spaces() {
    assert_eq!(fold_user_name(" ＡＬＩ"), " ali");
    assert_eq!(fold_user_name("ße "), "sse ");
    assert!(normalize_user_name("Straße").starts_with(&fold_user_name("STRAS")));
}

#[test]
fn entra_create_u2() {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    });
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(
        u["schemas"],
        json!([USER_SCHEMA]),
        "no extension data, so no extension URN"
    );
    assert!(u.get("meta").is_none());
    assert!(u.get("roles").is_none());
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(user_name(&u), Some("Test_User_00aa"));
    assert_eq!(
        external_id(&u),
        Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
    );
}

#[test]
fn entra_create_u2b_nulls_and_typo_urn() {
    let body = json!({
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true, "addresses": null,
        "displayName": "Joy Young", "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
        "meta": {"resourceType": "User"}, "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": null, "preferredLanguage": null, "title": null, "department": null, "manager": null
    });
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(u["schemas"], json!([USER_SCHEMA]));
    for absent in [
        "addresses",
        "phoneNumbers",
        "title",
        "department",
        "manager",
    ] {
        assert!(u.get(absent).is_none(), "{absent}");
    }
    assert_eq!(display_name(&u), Some("Joy Young"));
}

#[test]
fn okta_create_with_password_and_groups() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    });
    let u = prepare_new_user(&body).unwrap();
    assert!(u.get("password").is_none());
    assert!(u.get("groups").is_none());
    assert_eq!(u["locale"], "en-US");
    assert!(is_active(&u));
    assert_eq!(
        email_values(&u),
        vec![("test.user@okta.local".into(), Some("work".into()), true)]
    );
}

#[test]
fn canonicalises_names_and_coerces() {
    let body = json!({
        "UserName": "x", "Active": "False", "NAME": {"GivenName": "A"},
        "Emails": [{"Value": "a@x", "Primary": "True"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D", "Manager": "271"},
        "id": "client-chosen", "bogus": 1
    });
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(u["userName"], "x");
    assert_eq!(u["active"], false);
    assert!(!is_active(&u));
    assert_eq!(u["name"], json!({"givenName": "A"}));
    assert_eq!(u["emails"], json!([{"value": "a@x", "primary": true}]));
    assert_eq!(
        u[ENTERPRISE_USER_SCHEMA],
        json!({"department": "R&D", "manager": {"value": "271"}})
    );
    assert_eq!(u["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert!(u.get("id").is_none() && u.get("bogus").is_none());
}

#[test]
fn full_urn_keys_in_body() {
    let body = json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": 42});
    let u = prepare_new_user(&body).unwrap();
    assert_eq!(u[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "42");
}

#[test]
fn rejects_invalid_users() {
    let err = |b: Value| prepare_new_user(&b).unwrap_err();
    assert!(
        matches!(err(json!({"displayName": "x"})), ScimError::InvalidValue(d) if d.contains("userName"))
    );
    assert!(matches!(
        err(json!({"userName": "   "})),
        ScimError::InvalidValue(_)
    ));
    assert!(matches!(
        err(json!({"userName": ""})),
        ScimError::InvalidValue(_)
    ));
    assert!(
        matches!(err(json!({"userName": "x", "active": "maybe"})), ScimError::InvalidValue(d) if d.contains("active"))
    );
    assert!(
        matches!(err(json!({"userName": "x", "name": "Bob"})), ScimError::InvalidValue(d) if d.contains("name"))
    );
    assert_eq!(
        prepare_new_user(&json!({"userName": 5})).unwrap()["userName"],
        "5",
        "numbers are tolerated for strings"
    );
    assert!(matches!(
        err(json!({"userName": true})),
        ScimError::InvalidValue(_)
    ));
    let two_primaries = json!({"userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]});
    assert!(matches!(err(two_primaries), ScimError::InvalidValue(d) if d.contains("primary")));
    assert!(matches!(err(json!("nope")), ScimError::InvalidSyntax(_)));
}

#[test]
fn replaced_user_keeps_read_only() {
    let existing = json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "old", "title": "T",
                          "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z"}});
    let body = json!({"schemas": [USER_SCHEMA], "id": "other", "userName": "new", "meta": {"created": "1999-01-01T00:00:00Z"}});
    let u = prepare_replaced_user(&existing, &body).unwrap();
    assert_eq!(u["id"], "u1");
    assert_eq!(u["meta"]["created"], "2020-01-01T00:00:00Z");
    assert_eq!(u["userName"], "new");
    assert!(
        u.get("title").is_none(),
        "PUT replaces: omitted attributes are cleared"
    );
}

#[test]
fn entra_group_create_g1() {
    let body = json!({
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
        "meta": {"resourceType": "Group"}
    });
    let (g, members) = prepare_new_group(&body).unwrap();
    assert_eq!(
        g,
        json!({"schemas": [GROUP_SCHEMA], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"})
    );
    assert!(members.is_empty());
}

#[test]
fn group_members_collected() {
    let body = json!({"displayName": "G", "Members": [
        {"value": "a", "display": "A"}, {"value": "b", "$ref": null}, {"value": "a", "display": "A2"},
        "c", {"display": "no id"}, {"value": "d", "displayName": "Dee"}, {"value": "e", "display": ""}
    ]});
    let (g, members) = prepare_new_group(&body).unwrap();
    let shown = |id: &str, display: Option<&str>| Member {
        id: id.into(),
        display: display.map(Into::into),
    };
    assert_eq!(
        members,
        [
            shown("a", Some("A")),
            shown("b", None),
            shown("c", None),
            shown("d", Some("Dee")),
            shown("e", None)
        ]
    );
    assert!(g.get("members").is_none());
    assert!(
        prepare_new_group(&json!({"members": []})).is_err(),
        "displayName required"
    );
    assert!(prepare_new_group(&json!({"displayName": "G", "members": [5]})).is_err());
    let (g, m) = prepare_replaced_group(
        &json!({"id": "g1", "displayName": "Old"}),
        &json!({"displayName": "New", "members": [{"value": "x"}]}),
    )
    .unwrap();
    assert_eq!(g["id"], "g1");
    assert_eq!(m, [Member::id("x")]);
}

#[test]
fn member_display_is_bounded_and_must_be_text() {
    let named = |display: Value| json!({"displayName": "G", "members": [{"value": "a", "display": display}]});
    let long = "n".repeat(crate::limits::MAX_MEMBER_DISPLAY_BYTES + 1);
    let error = prepare_new_group(&named(json!(long))).unwrap_err();
    assert!(
        matches!(&error, ScimError::InvalidValue(d) if d.contains("members.display") && d.contains("256")),
        "{error:?}"
    );
    assert!(prepare_new_group(&named(json!("bell\u{7}"))).is_err());
    assert!(prepare_new_group(&named(json!(7))).is_err());
    let fits = "n".repeat(crate::limits::MAX_MEMBER_DISPLAY_BYTES);
    assert!(prepare_new_group(&named(json!(fits))).is_ok());
}

fn rfc_full_user() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/rfc7643_full_user.json")).unwrap()
}

#[test]
fn rfc_full_user_round_trips() {
    let body = rfc_full_user();
    let u = prepare_new_user(&body).unwrap();
    assert!(u.get("password").is_none());
    assert!(u.get("groups").is_none());
    assert!(u.get("id").is_none() && u.get("meta").is_none());
    assert_eq!(u["x509Certificates"], body["x509Certificates"]);
    assert_eq!(u["addresses"], body["addresses"]);
    assert_eq!(u["name"], body["name"]);
    assert_eq!(
        u[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"})
    );
}

#[test]
fn attribute_selection() {
    let mut full = rfc_full_user();
    let schema = crate::schema::user();
    let sel = |a: &[&str], e: &[&str]| {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
        apply_attribute_selection(&full, &a, &e, schema)
    };
    let v = sel(&["userName", "name.givenName"], &[]);
    assert_eq!(
        v,
        json!({"schemas": full["schemas"], "id": full["id"], "meta": full["meta"], "userName": "bjensen", "name": {"givenName": "Barbara"}})
    );
    let v = sel(&["emails.value"], &[]);
    assert_eq!(
        v["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    let v = sel(&["emails[type eq \"work\"]"], &[]);
    assert_eq!(v["emails"], full["emails"]);
    let v = sel(
        &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"],
        &[],
    );
    assert_eq!(
        v[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Tour Operations"})
    );
    let v = sel(
        &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        &[],
    );
    assert_eq!(v[ENTERPRISE_USER_SCHEMA], full[ENTERPRISE_USER_SCHEMA]);
    assert_eq!(v["meta"], full["meta"], "meta is returned always");
    let v = sel(&["meta.lastModified", "nosuch"], &[]);
    assert_eq!(v["meta"], full["meta"]);
    let v = sel(&[], &["meta", "meta.created", "meta.location"]);
    let mut kept = full["meta"].clone();
    kept.as_object_mut().unwrap().remove("created");
    kept.as_object_mut().unwrap().remove("location");
    assert_eq!(
        v["meta"], kept,
        "meta cannot be excluded; its sub-attributes can"
    );
    let v = sel(
        &[],
        &[
            "emails",
            "name.familyName",
            "id",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
    );
    assert!(v.get("emails").is_none());
    assert!(v["name"].get("familyName").is_none() && v["name"].get("givenName").is_some());
    assert_eq!(v["id"], full["id"], "id is returned always");
    assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert!(v.get("password").is_none(), "password is returned never");
    assert!(v.get("phoneNumbers").is_some());
    let v = sel(&["nosuch"], &[]);
    assert_eq!(
        v,
        json!({"schemas": full["schemas"], "id": full["id"], "meta": full["meta"]})
    );
    strip_never_returned(&mut full, schema);
    assert!(full.get("password").is_none());
    assert!(full.get("userName").is_some());
}

#[test]
fn group_selection_excludes_members() {
    let g = json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "members": [{"value": "u"}], "meta": {"resourceType": "Group"}});
    let v = apply_attribute_selection(&g, &[], &["members".to_string()], crate::schema::group());
    assert_eq!(
        v,
        json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "G", "meta": {"resourceType": "Group"}})
    );
}

#[test]
fn active_defaults_to_true() {
    let u = prepare_new_user(&json!({"userName": "x"})).unwrap();
    assert_eq!(u["active"], true);
    let u = prepare_new_user(&json!({"userName": "x", "active": null})).unwrap();
    assert_eq!(u["active"], true);
    let (g, _) = prepare_new_group(&json!({"displayName": "G"})).unwrap();
    assert!(g.get("active").is_none());
}

/// Every code point, checked exhaustively because random strings rarely hit the few where
/// folding, lowercase and NFKC interact:
/// - its key folds to itself, so a key never depends on how often it was folded;
/// - lowercasing a name first never changes its key. The old key was the lowercase, so an
///   old key that differs from the new one is no name's new key (a claim under it is dead,
///   not in the way), and no two names that shared an old key are now apart.
#[test]
fn every_code_point_folds_to_a_fixed_point_that_lowercase_cannot_change() {
    let mut unstable = Vec::new();
    let mut split = Vec::new();
    // Planes 4 to 13 are unassigned and 15 and 16 private use: nothing there folds.
    let assigned = (0..0x4_0000).chain(0xE_0000..0xF_0000);
    for c in assigned.filter_map(char::from_u32) {
        // Letters around it, so that a final sigma is final and others are not.
        let name = format!("a{c}b{c}");
        let key = normalize_user_name(&name);
        if normalize_user_name(&key) != key {
            unstable.push(c);
        }
        if normalize_user_name(&name.to_lowercase()) != key {
            split.push(c);
        }
    }
    assert!(unstable.is_empty(), "{unstable:?}");
    assert!(split.is_empty(), "{split:?}");
}

#[test]
fn a_user_name_whose_key_outgrows_the_index_is_refused() {
    // Within the 1024-byte limit as sent; its NFKC key would not fit the directory's index.
    let body = json!({"userName": "\u{fdfa}".repeat(100)});
    let error = prepare_new_user(&body).unwrap_err();
    assert!(error.detail().contains("normalised"), "{error}");
}
