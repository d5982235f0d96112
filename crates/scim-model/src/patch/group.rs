//! PATCH of Group resources. Membership is returned as a delta so that a change costs the
//! same for a 10-member and a 100,000-member group: the member list is never loaded here.

use std::collections::HashMap;

use serde_json::Value;

use super::engine::apply_path_op;
use super::resolve::expand_pathless;
use super::{PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::filter::{CompareOp, CompareValue, Filter};
use crate::limits;
use crate::resource::{Member, finalize, parse_members};
use crate::schema;
use crate::value::{is_present, remove_ci};

/// The result of a group PATCH. To apply it to a stored member set: if `replace_members` is
/// `Some`, membership becomes exactly that list (the other fields are then empty); otherwise
/// clear all members if `remove_all_members`, then remove `members_removed` and add
/// `members_added` (the two lists are disjoint).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupPatchOutcome {
    /// The group without `members`.
    pub resource: Value,
    pub members_added: Vec<Member>,
    pub members_removed: Vec<String>,
    pub remove_all_members: bool,
    pub replace_members: Option<Vec<Member>>,
}

/// Members in first-inserted order with constant-time lookup by id, so a request naming
/// thousands of members costs linear, not quadratic, time. A later mention of a member that
/// carries a `display` amends the earlier one's.
#[derive(Debug, Default)]
struct OrderedMembers {
    by_id: HashMap<String, (u64, Option<String>)>,
    next: u64,
}

impl OrderedMembers {
    fn insert(&mut self, member: &Member) {
        match self.by_id.get_mut(&member.id) {
            Some((_, display)) => {
                if member.display.is_some() {
                    display.clone_from(&member.display);
                }
            }
            None => {
                self.by_id
                    .insert(member.id.clone(), (self.next, member.display.clone()));
                self.next += 1;
            }
        }
    }

    fn remove(&mut self, id: &str) {
        self.by_id.remove(id);
    }

    fn into_vec(self) -> Vec<Member> {
        let mut members: Vec<(String, (u64, Option<String>))> = self.by_id.into_iter().collect();
        members.sort_unstable_by_key(|(_, (position, _))| *position);
        members
            .into_iter()
            .map(|(id, (_, display))| Member { id, display })
            .collect()
    }
}

/// The membership delta while operations are applied; becomes the outcome's lists at the end.
#[derive(Debug, Default)]
struct MemberDelta {
    added: OrderedMembers,
    removed: OrderedMembers,
    remove_all: bool,
    replace: Option<OrderedMembers>,
    /// Member ids named so far, against [`limits::MAX_MEMBERS_PER_REQUEST`].
    named: usize,
}

impl MemberDelta {
    fn name(&mut self, count: usize) -> Result<(), ScimError> {
        self.named = self.named.saturating_add(count);
        limits::check_member_count(self.named)
    }

    fn add(&mut self, member: &Member) {
        if let Some(list) = &mut self.replace {
            list.insert(member);
            return;
        }
        self.removed.remove(&member.id);
        self.added.insert(member);
    }

    fn remove(&mut self, id: &str) {
        if let Some(list) = &mut self.replace {
            list.remove(id);
            return;
        }
        self.added.remove(id);
        if !self.remove_all {
            self.removed.insert(&Member::id(id));
        }
    }

    fn clear(&mut self) {
        self.added = OrderedMembers::default();
        self.removed = OrderedMembers::default();
        self.replace = None;
        self.remove_all = true;
    }

    fn replace(&mut self, members: &[Member]) {
        self.added = OrderedMembers::default();
        self.removed = OrderedMembers::default();
        self.remove_all = false;
        let mut list = OrderedMembers::default();
        members.iter().for_each(|member| list.insert(member));
        self.replace = Some(list);
    }

    fn into_outcome(self, resource: Value) -> GroupPatchOutcome {
        GroupPatchOutcome {
            resource,
            members_added: self.added.into_vec(),
            members_removed: self
                .removed
                .into_vec()
                .into_iter()
                .map(|member| member.id)
                .collect(),
            remove_all_members: self.remove_all,
            replace_members: self.replace.map(OrderedMembers::into_vec),
        }
    }
}

/// Applies the operations in order; later operations amend the delta of earlier ones.
pub fn apply_group_patch(
    group: &Value,
    ops: &[PatchOperation],
) -> Result<GroupPatchOutcome, ScimError> {
    let schema = schema::group();
    let mut map = group
        .as_object()
        .cloned()
        .ok_or_else(|| ScimError::InvalidSyntax("the resource must be a JSON object".into()))?;
    remove_ci(&mut map, "members");
    let mut out = MemberDelta::default();
    for op in ops {
        let steps: Vec<(PatchPath, Option<Value>)> = match &op.path {
            Some(p) => vec![(p.clone(), op.value.clone())],
            None => expand_pathless(&map, op, schema)?
                .into_iter()
                .map(|(p, v)| (p, Some(v)))
                .collect(),
        };
        for (path, value) in steps {
            if targets_members(&path) {
                apply_members(&mut out, op.op, &path, value.as_ref())?;
            } else {
                apply_path_op(&mut map, op.op, &path, value.as_ref(), schema)?;
            }
        }
    }
    let resource = finalize(map, schema)?;
    Ok(out.into_outcome(resource))
}

fn targets_members(path: &PatchPath) -> bool {
    let a = match path {
        PatchPath::Attribute(a) => a,
        PatchPath::Filtered { attribute, .. } => attribute,
    };
    a.attribute.eq_ignore_ascii_case("members")
        && a.schema_urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(schema::GROUP_SCHEMA))
}

fn apply_members(
    out: &mut MemberDelta,
    op: PatchOp,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let (filter, sub) = match path {
        PatchPath::Attribute(a) => (None, a.sub_attribute.as_deref()),
        PatchPath::Filtered {
            filter,
            sub_attribute,
            ..
        } => (Some(filter), sub_attribute.as_deref()),
    };
    if sub.is_some() {
        return Err(ScimError::Mutability(format!(
            "'{path}': member sub-attributes cannot be modified"
        )));
    }
    if let Some(f) = filter {
        let mut ids = Vec::new();
        ids_from_filter(f, &mut ids)?;
        out.name(ids.len())?;
        ids.iter().for_each(|id| out.remove(id));
        if op == PatchOp::Remove {
            return Ok(());
        }
    }
    let listed = parse_members(value)?;
    out.name(listed.len())?;
    match op {
        PatchOp::Add => listed.iter().for_each(|member| out.add(member)),
        PatchOp::Replace if filter.is_some() => listed.iter().for_each(|member| out.add(member)),
        PatchOp::Replace => out.replace(&listed),
        PatchOp::Remove if value.is_some_and(is_present) => {
            listed.iter().for_each(|member| out.remove(&member.id))
        }
        PatchOp::Remove => out.clear(),
    }
    Ok(())
}

/// Member ids named by `value eq "…"` terms joined with `or`: the only member filters that can
/// be applied without reading the member list.
fn ids_from_filter(f: &Filter, ids: &mut Vec<String>) -> Result<(), ScimError> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompareValue::String(id),
        } if path.attribute.eq_ignore_ascii_case("value")
            && path.sub_attribute.is_none()
            && path.schema_urn.is_none() =>
        {
            limits::check_member_id(id)?;
            ids.push(id.clone());
            Ok(())
        }
        Filter::Or(a, b) => {
            ids_from_filter(a, ids)?;
            ids_from_filter(b, ids)
        }
        _ => Err(ScimError::InvalidFilter(format!(
            "members can only be selected by value, e.g. members[value eq \"id\"]; got '{f}'"
        ))),
    }
}
