//! Filter parsing: the filters IdPs send on every provisioning cycle, plus RFC 7644 examples
//! with value paths and nesting.
//!
//! `cargo bench -p scim-model --bench filter`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_model::{parse_filter, schema, validate_filter};

/// `(name, filter)`: what the benchmark ids are called and what is parsed.
const FILTERS: &[(&str, &str)] = &[
    // Entra / Okta match queries before a create.
    (
        "userName_eq",
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-ee44ff55aa66@contoso.com""#,
    ),
    (
        "externalId_eq",
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
    ),
    (
        "group_displayName_eq",
        r#"displayName eq "Sales Team EMEA""#,
    ),
    // Entra's email lookup: a value path with a sub-attribute.
    (
        "work_email_value_path",
        r#"emails[type eq "work"].value eq "alice.smith@contoso.com""#,
    ),
    // Entra's reference check on the enterprise extension.
    (
        "enterprise_manager",
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "2819c223-7f76-453a-919d-413861904646""#,
    ),
    // RFC 7644 §3.4.2.2 examples.
    (
        "rfc_value_paths_or",
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ),
    (
        "rfc_nested_and_or",
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        "rfc_dates_not_present",
        r#"userName sw "J" and not (meta.lastModified gt "2011-05-13T04:42:34Z" or title pr)"#,
    ),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_parse");
    for (name, filter) in FILTERS {
        assert!(parse_filter(filter).is_ok(), "{name} must parse");
        group.bench_function(*name, |b| b.iter(|| parse_filter(black_box(filter))));
    }
    group.finish();
}

fn parse_and_validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_parse_validate_user");
    let user = schema::user();
    for (name, filter) in FILTERS
        .iter()
        .filter(|(name, _)| !name.starts_with("group"))
    {
        let valid = parse_filter(filter).map(|f| validate_filter(&f, user));
        assert!(
            matches!(valid, Ok(Ok(()))),
            "{name} must be a valid user filter"
        );
        group.bench_function(*name, |b| {
            b.iter(|| parse_filter(black_box(filter)).map(|f| validate_filter(&f, user)))
        });
    }
    group.finish();
}

criterion_group!(benches, parse, parse_and_validate);
criterion_main!(benches);
