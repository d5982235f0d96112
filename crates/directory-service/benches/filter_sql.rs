//! Filter → SQL: what the directory does for every filtered list request. Parsing alone is
//! in scim-model's `filter` bench; here it is parse + validate + compile, and compile alone.
//!
//! `cargo bench -p directory-service --bench filter_sql`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use directory_service::filter_sql::{FilterTarget, compile_filter};
use scim_model::parse_filter;

/// `(name, target, filter)`.
const FILTERS: &[(&str, FilterTarget, &str)] = &[
    (
        "user_userName_eq",
        FilterTarget::Users,
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-ee44ff55aa66@contoso.com""#,
    ),
    (
        "user_externalId_eq",
        FilterTarget::Users,
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
    ),
    (
        "user_work_email_value_path",
        FilterTarget::Users,
        r#"emails[type eq "work"].value eq "alice.smith@contoso.com""#,
    ),
    (
        "user_userName_sw_paging",
        FilterTarget::Users,
        r#"userName sw "bench.""#,
    ),
    (
        "user_manager_value",
        FilterTarget::Users,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "2819c223-7f76-453a-919d-413861904646""#,
    ),
    (
        "user_rfc_nested",
        FilterTarget::Users,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        "user_rfc_value_paths_or",
        FilterTarget::Users,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ),
    (
        "user_not_dates",
        FilterTarget::Users,
        r#"userName sw "J" and not (meta.lastModified gt "2011-05-13T04:42:34Z" or title pr)"#,
    ),
    (
        "group_displayName_eq",
        FilterTarget::Groups,
        r#"displayName eq "Sales Team EMEA""#,
    ),
    (
        "group_member_value",
        FilterTarget::Groups,
        r#"members[value eq "0190f3a2-7c4e-7d2b-9a1f-000000000001"]"#,
    ),
];

fn parse_and_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_parse_compile");
    for &(name, target, filter) in FILTERS {
        let compiled = parse_filter(filter).map(|f| compile_filter(&f, target, 1));
        assert!(
            matches!(compiled, Ok(Ok(_))),
            "{name} must compile: {compiled:?}"
        );
        group.bench_function(name, |b| {
            b.iter(|| parse_filter(black_box(filter)).map(|f| compile_filter(&f, target, 1)))
        });
    }
    group.finish();
}

fn compile_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_compile");
    for &(name, target, filter) in FILTERS {
        if let Ok(parsed) = parse_filter(filter) {
            group.bench_function(name, |b| {
                b.iter(|| compile_filter(black_box(&parsed), target, 1))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, parse_and_compile, compile_only);
criterion_main!(benches);
