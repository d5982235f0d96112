//! PATCH of Group resources. Membership is returned as a delta so that a change costs the
//! same for a 10-member and a 100,000-member group: the member list is never loaded here.

use serde_json::Value;

use super::engine::{apply_path_op, expand_pathless};
use super::{PatchOp, PatchOperation, PatchPath};
use crate::error::ScimError;
use crate::filter::{CompareOp, CompareValue, Filter};
use crate::resource::{finalize, member_ids};
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
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    pub remove_all_members: bool,
    pub replace_members: Option<Vec<String>>,
}

impl GroupPatchOutcome {
    fn add(&mut self, id: &str) {
        if let Some(list) = &mut self.replace_members {
            push_unique(list, id);
            return;
        }
        self.members_removed.retain(|x| x != id);
        push_unique(&mut self.members_added, id);
    }

    fn remove(&mut self, id: &str) {
        if let Some(list) = &mut self.replace_members {
            list.retain(|x| x != id);
            return;
        }
        self.members_added.retain(|x| x != id);
        if !self.remove_all_members {
            push_unique(&mut self.members_removed, id);
        }
    }

    fn clear(&mut self) {
        self.members_added.clear();
        self.members_removed.clear();
        self.replace_members = None;
        self.remove_all_members = true;
    }

    fn replace(&mut self, ids: Vec<String>) {
        self.members_added.clear();
        self.members_removed.clear();
        self.remove_all_members = false;
        self.replace_members = Some(ids);
    }
}

fn push_unique(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_string());
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
    let mut out = GroupPatchOutcome::default();
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
    out.resource = finalize(map, schema)?;
    Ok(out)
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
    out: &mut GroupPatchOutcome,
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
        ids.iter().for_each(|id| out.remove(id));
        if op == PatchOp::Remove {
            return Ok(());
        }
    }
    let listed = member_ids(value)?;
    match op {
        PatchOp::Add => listed.iter().for_each(|id| out.add(id)),
        PatchOp::Replace if filter.is_some() => listed.iter().for_each(|id| out.add(id)),
        PatchOp::Replace => out.replace(listed),
        PatchOp::Remove if value.is_some_and(is_present) => {
            listed.iter().for_each(|id| out.remove(id))
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
            push_unique(ids, id);
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
