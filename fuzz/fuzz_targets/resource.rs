//! bytes → JSON → `prepare_new_user`, `prepare_new_group`, `prepare_replaced_user` (and
//! `prepare_replaced_group`). Every accepted resource must pass the limits and serialise to
//! JSON without a control character a read model cannot store.
#![no_main]

mod fixtures;

use libfuzzer_sys::fuzz_target;
use scim_model::limits::{self, MAX_MEMBERS_PER_REQUEST};
use scim_model::{
    prepare_new_group, prepare_new_user, prepare_replaced_group, prepare_replaced_user,
};
use serde_json::Value;

fn check_members(what: &str, members: &[String]) {
    assert!(
        members.len() <= MAX_MEMBERS_PER_REQUEST,
        "{what}: {} members",
        members.len()
    );
    for id in members {
        assert!(limits::is_valid_id(id), "{what} accepted member id {id:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(user) = prepare_new_user(&body) {
        fixtures::assert_storable("prepare_new_user", &user);
    }
    if let Ok(user) = prepare_replaced_user(&fixtures::USER, &body) {
        fixtures::assert_storable("prepare_replaced_user", &user);
    }
    if let Ok((group, members)) = prepare_new_group(&body) {
        fixtures::assert_storable("prepare_new_group", &group);
        check_members("prepare_new_group", &members);
    }
    if let Ok((group, members)) = prepare_replaced_group(&fixtures::GROUP, &body) {
        fixtures::assert_storable("prepare_replaced_group", &group);
        check_members("prepare_replaced_group", &members);
    }
});
