//! The SQL text the compiler emits: index use, parameter binding and injection safety. What
//! the SQL selects is checked against `scim_model::matches` in `tests/filter_differential.rs`.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use scim_model::parse_filter;

fn users(f: &str) -> SqlFilter {
    compile_filter(&parse_filter(f).unwrap(), FilterTarget::Users, 2).unwrap()
}

fn groups(f: &str) -> SqlFilter {
    compile_filter(&parse_filter(f).unwrap(), FilterTarget::Groups, 2).unwrap()
}

fn text(s: &str) -> SqlParam {
    SqlParam::Text(s.to_string())
}

#[test]
fn idp_lookup_user_name_uses_the_lowered_column() {
    let f = users(r#"userName eq "Test_User_00aa@Contoso.com""#);
    assert_eq!(f.sql, "u.user_name_lower = $2");
    assert_eq!(f.params, vec![text("test_user_00aa@contoso.com")]);
}

#[test]
fn user_name_parameters_are_identity_keys() {
    let f = users(r#"userName eq "ＴＥＳＴ_ＵＳＥＲ@contoso.com""#);
    assert_eq!(f.sql, "u.user_name_lower = $2");
    assert_eq!(f.params, vec![text("test_user@contoso.com")]);
    let f = users(r#"userName eq "Straße""#);
    assert_eq!(f.params, vec![text("strasse")]);
    // Fragments fold the same way, but their spaces are part of the pattern.
    let f = users(r#"userName sw "ﬁNN ""#);
    assert_eq!(f.sql, "u.user_name_lower LIKE $2 ESCAPE '\\'");
    assert_eq!(f.params, vec![text("finn %")]);
    // A fullwidth percent sign is a literal "%" once folded, so it is escaped.
    let f = users(r#"userName co "１００％""#);
    assert_eq!(f.params, vec![text("%100\\%%")]);
}

#[test]
fn idp_lookup_external_id_is_case_exact() {
    let f = users(r#"externalId eq "0A21f0f2-8d2a""#);
    assert_eq!(f.sql, "u.external_id = $2");
    assert_eq!(f.params, vec![text("0A21f0f2-8d2a")]);
    // Unquoted, as Entra's docs and some tools send it.
    assert_eq!(users("externalId eq 12345").params, vec![text("12345")]);
}

#[test]
fn idp_lookup_work_email() {
    let f = users(r#"emails[type eq "work"].value eq "User@Contoso.com""#);
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id \
         AND ((lower(e.type) = lower($2) AND e.value_lower = $3)))"
    );
    assert_eq!(f.params, vec![text("work"), text("user@contoso.com")]);
    let f = users(r#"emails.value eq "A@B.c""#);
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower = $2))"
    );
}

#[test]
fn idp_lookup_display_name() {
    let f = groups(r#"displayName eq "Sales Team""#);
    assert_eq!(f.sql, "g.display_name_lower = $2");
    assert_eq!(f.params, vec![text("sales team")]);
    let f = users(r#"displayName eq "Babs""#);
    assert_eq!(f.sql, "lower(u.display_name) = lower($2)");
}

#[test]
fn composite_filters() {
    let f = users(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    );
    assert_eq!(
        f.sql,
        "(lower(u.resource #>> '{\"userType\"}') = lower($2) AND \
         (EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower LIKE $3 ESCAPE '\\')) OR \
         EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower LIKE $4 ESCAPE '\\'))))"
    );
    assert_eq!(
        f.params,
        vec![
            text("Employee"),
            text("%example.com%"),
            text("%example.org%")
        ]
    );

    let f = users(r#"id eq "54D382A4" and manager eq "2819c223""#);
    assert_eq!(
        f.sql,
        "(u.id = $2 AND lower(u.resource #>> '{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"manager\",\"value\"}') = lower($3))"
    );

    let f = users(r#"not (title pr) or active eq "False""#);
    assert_eq!(
        f.sql,
        "(NOT COALESCE(((u.resource #>> '{\"title\"}' IS NOT NULL AND u.resource #>> '{\"title\"}' <> '')), false) OR u.active = $2)"
    );
    assert_eq!(f.params, vec![SqlParam::Bool(false)]);
}

#[test]
fn dates_numbers_and_ordering() {
    let f = users(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z" and meta.created le "2011-05-13T06:42:34+02:00""#,
    );
    assert_eq!(f.sql, "(u.last_modified > $2 AND u.created <= $3)");
    let ts = DateTime::parse_from_rfc3339("2011-05-13T04:42:34Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        f.params,
        vec![SqlParam::Timestamp(ts), SqlParam::Timestamp(ts)]
    );
    let f = users(r#"userName eq " Padded@X ""#);
    assert_eq!(
        f.params,
        vec![text("padded@x")],
        "normalised like the uniqueness key"
    );
    let f = users(r#"userName ge "m""#);
    assert_eq!(f.sql, "u.user_name_lower >= $2");
    let f = users(r#"name.familyName lt "Z""#);
    assert_eq!(
        f.sql,
        "lower(u.resource #>> '{\"name\",\"familyName\"}') < lower($2)"
    );
}

#[test]
fn like_patterns_are_escaped() {
    let f = users(r#"userName sw "100%_a\\b""#);
    assert_eq!(f.sql, "u.user_name_lower LIKE $2 ESCAPE '\\'");
    assert_eq!(f.params, vec![text("100\\%\\_a\\\\b%")]);
    let f = users(r#"externalId ew "X_""#);
    assert_eq!(f.params, vec![text("%X\\_")]);
}

#[test]
fn injection_stays_in_parameters() {
    let f = users(r#"userName eq "x'; DROP TABLE users; --""#);
    assert_eq!(f.sql, "u.user_name_lower = $2");
    assert!(!f.sql.contains("DROP"));
}

#[test]
fn negation_and_absence() {
    let f = users(r#"userName ne "bob""#);
    assert_eq!(f.sql, "u.user_name_lower IS DISTINCT FROM $2");
    let f = users(r#"emails.value ne "a@b.c""#);
    assert_eq!(
        f.sql,
        "NOT COALESCE((EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND (e.value_lower = $2))), false)"
    );
    let f = users("emails pr");
    assert!(
        f.sql.starts_with("EXISTS (SELECT 1 FROM user_emails e"),
        "{}",
        f.sql
    );
    let f = users("nickName eq null");
    assert!(f.sql.starts_with("NOT COALESCE"), "{}", f.sql);
    assert!(f.params.is_empty());
}

#[test]
fn json_multi_valued() {
    let f = users(r#"phoneNumbers[type eq "mobile" and value sw "+44"]"#);
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM jsonb_array_elements(u.resource #> '{\"phoneNumbers\"}') x \
         WHERE ((lower((x ->> 'type')) = lower($2) AND lower((x ->> 'value')) LIKE lower($3) ESCAPE '\\')))"
    );
    // A sub-attribute the email table lacks falls back to the JSON document.
    let f = users(r#"emails[display eq "Work" and type eq "work"]"#);
    assert!(
        f.sql
            .contains("jsonb_array_elements(u.resource #> '{\"emails\"}')"),
        "{}",
        f.sql
    );
    // `primary` too: the table cannot tell an absent flag from false.
    let f = users(r#"emails[primary eq false].value eq "a@b.c""#);
    assert!(
        f.sql.contains("((x ->> 'primary'))::boolean = $2"),
        "{}",
        f.sql
    );
    let f = users(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#);
    assert!(
        f.sql.contains("lower((x #>> '{}')) = lower($2)"),
        "{}",
        f.sql
    );
}

#[test]
fn members_and_groups() {
    let f = groups(r#"members[value eq "2819c223"]"#);
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND (m.member_id = $2))"
    );
    assert_eq!(groups(r#"members.value eq "2819c223""#).sql, f.sql);
    assert_eq!(groups(r#"members eq "2819c223""#).sql, f.sql);
    let f = users(r#"groups.value eq "g1""#);
    assert!(
        f.sql.contains("m.member_id = u.id AND (m.group_id = $2)"),
        "{}",
        f.sql
    );
    let f = groups(r#"externalId eq "x" and meta.created gt "2020-01-01T00:00:00Z""#);
    assert_eq!(f.sql, "(g.external_id = $2 AND g.created > $3)");
}

#[test]
fn parameter_numbering_starts_where_asked() {
    let f = compile_filter(
        &parse_filter(r#"userName eq "a" or userName eq "b""#).unwrap(),
        FilterTarget::Users,
        5,
    )
    .unwrap();
    assert_eq!(f.sql, "(u.user_name_lower = $5 OR u.user_name_lower = $6)");
}

#[test]
fn rejects_what_it_cannot_answer() {
    let bad = |f: &str, t: FilterTarget| {
        let err = compile_filter(&parse_filter(f).unwrap(), t, 1).unwrap_err();
        assert!(matches!(err, ScimError::InvalidFilter(_)), "{f}: {err:?}");
    };
    bad(r#"noSuchAttr eq "x""#, FilterTarget::Users);
    bad(r#"userName eq "x""#, FilterTarget::Groups);
    bad("active gt true", FilterTarget::Users);
    bad(r#"meta.created gt "yesterday""#, FilterTarget::Users);
    bad(r#"members.display eq "x""#, FilterTarget::Groups);
    bad(r#"meta.version eq "x""#, FilterTarget::Users);
    bad(r#"name eq "x""#, FilterTarget::Users);
    bad(r#"title gt null"#, FilterTarget::Users);
}

#[test]
fn sort_columns() {
    assert_eq!(
        sort_column("userName", FilterTarget::Users).unwrap(),
        "u.user_name_lower"
    );
    assert_eq!(
        sort_column("DisplayName", FilterTarget::Groups).unwrap(),
        "g.display_name_lower"
    );
    assert_eq!(
        sort_column("displayName", FilterTarget::Users).unwrap(),
        "lower(u.display_name)"
    );
    assert_eq!(
        sort_column("meta.lastModified", FilterTarget::Users).unwrap(),
        "u.last_modified"
    );
    assert_eq!(
        sort_column("name.familyName", FilterTarget::Users).unwrap(),
        "lower(u.resource #>> '{\"name\",\"familyName\"}')"
    );
    assert_eq!(
        sort_column("emails", FilterTarget::Users).unwrap(),
        "(SELECT e.value_lower FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id \
         ORDER BY e.is_primary DESC, e.value_lower LIMIT 1)"
    );
    assert!(
        sort_column("phoneNumbers.value", FilterTarget::Users)
            .unwrap()
            .contains("IS TRUE DESC, n LIMIT 1")
    );
    assert!(sort_column("nope", FilterTarget::Users).is_err());
    assert!(sort_column("emails[type eq \"work\"]", FilterTarget::Users).is_err());
}
