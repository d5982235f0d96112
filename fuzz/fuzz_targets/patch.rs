//! bytes → JSON → `parse_patch_request` → `apply_user_patch` / `apply_group_patch` on fixed
//! resources. Whatever a PATCH is allowed to produce must pass the limits and be storable.
#![no_main]

mod fixtures;

use libfuzzer_sys::fuzz_target;
use scim_model::limits::{self, MAX_MEMBERS_PER_REQUEST};
use scim_model::{apply_group_patch, apply_user_patch, parse_patch_request};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(ops) = parse_patch_request(&body) else {
        return;
    };
    if let Ok(user) = apply_user_patch(&fixtures::USER, &ops) {
        fixtures::assert_storable("apply_user_patch", &user);
    }
    if let Ok(outcome) = apply_group_patch(&fixtures::GROUP, &ops) {
        fixtures::assert_storable("apply_group_patch", &outcome.resource);
        let replaced = outcome.replace_members.as_deref().unwrap_or_default();
        let named: [Vec<&str>; 3] = [
            outcome.members_added.iter().map(|m| m.id.as_str()).collect(),
            outcome.members_removed.iter().map(String::as_str).collect(),
            replaced.iter().map(|m| m.id.as_str()).collect(),
        ];
        for ids in &named {
            assert!(
                ids.len() <= MAX_MEMBERS_PER_REQUEST,
                "{} member ids",
                ids.len()
            );
            for id in ids {
                assert!(limits::is_valid_id(id), "member id {id:?} accepted");
            }
        }
        for member in outcome.members_added.iter().chain(replaced) {
            if let Some(display) = &member.display {
                assert!(
                    display.len() <= limits::MAX_MEMBER_DISPLAY_BYTES
                        && display.chars().all(limits::is_storable_char),
                    "member display {display:?} accepted"
                );
            }
        }
        for added in &outcome.members_added {
            assert!(
                !outcome.members_removed.contains(&added.id),
                "{added:?} both added and removed"
            );
        }
    }
});
