//! The userName identity key (`normalize_user_name`), computed for every create, every
//! `userName eq` lookup and every projected user: an ASCII name as IdPs mostly send, and
//! names that need the full NFKC + case folding.
//!
//! `cargo bench -p scim-model --bench user_name`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_model::normalize_user_name;

const NAMES: &[(&str, &str)] = &[
    (
        "ascii_entra",
        "Test_User_00aa00aa-bb11-cc22-dd33-ee44ff55aa66@contoso.com",
    ),
    ("ascii_short", "Alice.Smith@Contoso.com"),
    ("latin_accents", "Zoë.Müller-Straße@beispiel.de"),
    (
        "fullwidth",
        "ａｌｉｃｅ．ｓｍｉｔｈ＠ｃｏｎｔｏｓｏ．ｃｏｍ",
    ),
];

fn user_name_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalize_user_name");
    for (id, name) in NAMES {
        group.bench_function(*id, |b| b.iter(|| normalize_user_name(black_box(name))));
    }
    group.finish();
}

criterion_group!(benches, user_name_key);
criterion_main!(benches);
