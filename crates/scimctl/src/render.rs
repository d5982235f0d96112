//! Turning gRPC messages into text tables and JSON objects.

use scim_rpc::account::{IssuedToken, RotatedToken, ScimConfig, Tenant, TokenInfo};
use scim_rpc::audit::{AuditRecord, FailureRateResponse, VerifyResponse};
use scim_rpc::license::{Assignment, ListPoolMembersResponse, Offering, Pool};
use serde_json::{Value, json};

/// The result of one command, in both renderings.
pub struct Rendered {
    pub json: Value,
    pub text: String,
}

/// The answer of a check that failed: printed like any answer, and the command exits 1.
pub struct FailedCheck(pub Rendered);

impl std::fmt::Debug for FailedCheck {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0.text)
    }
}

impl std::fmt::Display for FailedCheck {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.0.text.trim_end())
    }
}

impl std::error::Error for FailedCheck {}

/// A plain left-aligned table with a header row.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_cells: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_cells).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Empty proto strings mean "absent"; JSON says so with null.
fn opt(value: &str) -> Value {
    if value.is_empty() {
        Value::Null
    } else {
        Value::String(value.to_owned())
    }
}

fn dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

pub fn tenant_json(t: &Tenant) -> Value {
    json!({ "id": t.id, "name": t.name, "created_at": opt(&t.created_at) })
}

pub fn tenants_table(tenants: &[Tenant]) -> String {
    let rows: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| vec![t.id.clone(), t.name.clone(), dash(&t.created_at)])
        .collect();
    table(&["ID", "NAME", "CREATED"], &rows)
}

pub fn config_json(c: &ScimConfig) -> Value {
    json!({
        "id": c.id,
        "tenant_id": c.tenant_id,
        "name": c.name,
        "description": opt(&c.description),
        "created_at": opt(&c.created_at),
        "disabled_at": opt(&c.disabled_at),
        "status": config_status(c),
    })
}

pub fn config_status(c: &ScimConfig) -> &'static str {
    if c.disabled_at.is_empty() {
        "enabled"
    } else {
        "disabled"
    }
}

/// A description on one table line: its first line, shortened.
fn description_cell(description: &str) -> String {
    const WIDTH: usize = 40;
    let first_line = description.lines().next().unwrap_or_default();
    let multiline = first_line.len() < description.trim_end().len();
    if first_line.chars().count() > WIDTH {
        let shortened: String = first_line.chars().take(WIDTH - 1).collect();
        format!("{shortened}…")
    } else if multiline {
        format!("{first_line}…")
    } else {
        dash(first_line)
    }
}

pub fn configs_table(configs: &[ScimConfig]) -> String {
    let rows: Vec<Vec<String>> = configs
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.name.clone(),
                config_status(c).to_owned(),
                c.tenant_id.clone(),
                dash(&c.created_at),
                description_cell(&c.description),
            ]
        })
        .collect();
    table(
        &["ID", "NAME", "STATUS", "TENANT", "CREATED", "DESCRIPTION"],
        &rows,
    )
}

pub fn token_json(t: &TokenInfo) -> Value {
    json!({
        "id": t.id,
        "config_id": t.config_id,
        "tenant_id": t.tenant_id,
        "prefix": t.prefix,
        "created_at": opt(&t.created_at),
        "expires_at": opt(&t.expires_at),
        "last_used_at": opt(&t.last_used_at),
        "revoked_at": opt(&t.revoked_at),
        "status": token_status(t),
    })
}

fn token_status(t: &TokenInfo) -> &'static str {
    if t.revoked_at.is_empty() {
        "active"
    } else {
        "revoked"
    }
}

pub fn tokens_table(tokens: &[TokenInfo]) -> String {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                dash(&t.prefix),
                token_status(t).to_owned(),
                dash(&t.created_at),
                dash(&t.expires_at),
                dash(&t.last_used_at),
                dash(&t.revoked_at),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "PREFIX",
            "STATUS",
            "CREATED",
            "EXPIRES",
            "LAST USED",
            "REVOKED",
        ],
        &rows,
    )
}

pub fn issued_token_json(issued: &IssuedToken) -> Value {
    json!({
        "info": issued.info.as_ref().map(token_json).unwrap_or(Value::Null),
        "secret": issued.secret,
    })
}

pub fn issued_token_text(issued: &IssuedToken) -> String {
    let mut text = String::new();
    if let Some(info) = &issued.info {
        text.push_str(&format!(
            "token id:   {}\nconfig:     {}\nexpires at: {}\n",
            info.id,
            info.config_id,
            dash(&info.expires_at)
        ));
    }
    text.push_str(&format!("secret:     {}\n", issued.secret));
    text
}

pub fn rotated_token(rotated: &RotatedToken) -> Rendered {
    let issued = rotated.issued.clone().unwrap_or_default();
    let mut text = issued_token_text(&issued);
    if let Some(previous) = &rotated.previous {
        text.push_str(&format!(
            "previous:   {} now expires at {}\n",
            previous.id,
            dash(&previous.expires_at)
        ));
    }
    Rendered {
        text,
        json: json!({
            "issued": issued_token_json(&issued),
            "previous": rotated.previous.as_ref().map(token_json).unwrap_or(Value::Null),
        }),
    }
}

pub fn pool_json(p: &Pool) -> Value {
    json!({
        "id": p.id,
        "tenant_id": p.tenant_id,
        "config_id": p.config_id,
        "application_instance": p.application_instance,
        "license_type": p.license_type,
        "seats": p.seats,
        "seats_used": p.seats_used,
        "seats_free": p.seats.saturating_sub(p.seats_used),
        "auto_assign": p.auto_assign,
    })
}

pub fn pools_table(pools: &[Pool]) -> String {
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.application_instance.clone(),
                p.license_type.clone(),
                format!("{}/{}", p.seats_used, p.seats),
                if p.auto_assign { "on" } else { "off" }.to_owned(),
                p.config_id.clone(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "APP INSTANCE",
            "LICENSE TYPE",
            "SEATS USED/TOTAL",
            "AUTO-ASSIGN",
            "CONFIG",
        ],
        &rows,
    )
}

pub fn assignment_json(a: &Assignment) -> Value {
    json!({
        "pool_id": a.pool_id,
        "tenant_id": a.tenant_id,
        "user_id": a.user_id,
        "assigned_at": opt(&a.assigned_at),
        "source": a.source,
    })
}

pub fn assignments_table(assignments: &[Assignment]) -> String {
    let rows: Vec<Vec<String>> = assignments
        .iter()
        .map(|a| {
            vec![
                a.pool_id.clone(),
                a.user_id.clone(),
                dash(&a.source),
                dash(&a.assigned_at),
            ]
        })
        .collect();
    table(&["POOL", "USER", "SOURCE", "ASSIGNED"], &rows)
}

pub fn offering_json(o: &Offering) -> Value {
    json!({
        "tenant_id": o.tenant_id,
        "application_instance": o.application_instance,
        "license_type": o.license_type,
        "seats": o.seats,
        "config_id": opt(&o.config_id),
        "pool_id": opt(&o.pool_id),
    })
}

pub fn offering_set(o: &Offering) -> Rendered {
    let drawn = if o.pool_id.is_empty() {
        "no configuration uses it yet".to_owned()
    } else {
        format!("pool {} of configuration {}", o.pool_id, o.config_id)
    };
    Rendered {
        text: format!(
            "offering {}/{} for tenant {}: {} seats; {drawn}\n",
            o.application_instance, o.license_type, o.tenant_id, o.seats
        ),
        json: offering_json(o),
    }
}

pub fn offerings(offerings: &[Offering]) -> Rendered {
    let rows: Vec<Vec<String>> = offerings
        .iter()
        .map(|o| {
            vec![
                o.application_instance.clone(),
                o.license_type.clone(),
                o.seats.to_string(),
                dash(&o.config_id),
                dash(&o.pool_id),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no offerings\n".to_owned()
    } else {
        table(
            &["APP INSTANCE", "LICENSE TYPE", "SEATS", "CONFIG", "POOL"],
            &rows,
        )
    };
    Rendered {
        text,
        json: json!({ "offerings": offerings.iter().map(offering_json).collect::<Vec<_>>() }),
    }
}

/// Holders and waiting users in one table: holders first (oldest seat
/// first), then the queue (next in line first).
pub fn pool_members(page: &ListPoolMembersResponse) -> Rendered {
    let holders = page.holders.iter().map(|a| {
        vec![
            a.user_id.clone(),
            "holds a seat".to_owned(),
            dash(&a.source),
            dash(&a.assigned_at),
        ]
    });
    let waiting = page.waiting.iter().map(|w| {
        vec![
            w.user_id.clone(),
            format!("waiting #{}", w.position),
            "-".to_owned(),
            dash(&w.waiting_since),
        ]
    });
    let rows: Vec<Vec<String>> = holders.chain(waiting).collect();
    let mut text = if rows.is_empty() {
        String::new()
    } else {
        table(&["USER", "STATUS", "SOURCE", "SINCE"], &rows)
    };
    text.push_str(&format!(
        "{} holding a seat, {} waiting\n",
        page.holders_total, page.waiting_total
    ));
    if !page.next_page_token.is_empty() {
        text.push_str(&format!(
            "more members: repeat with --page-token {}\n",
            page.next_page_token
        ));
    }
    Rendered {
        text,
        json: json!({
            "holders": page.holders.iter().map(assignment_json).collect::<Vec<_>>(),
            "waiting": page.waiting.iter().map(|w| json!({
                "user_id": w.user_id,
                "waiting_since": opt(&w.waiting_since),
                "position": w.position,
            })).collect::<Vec<_>>(),
            "holders_total": page.holders_total,
            "waiting_total": page.waiting_total,
            "next_page_token": opt(&page.next_page_token),
        }),
    }
}

pub fn audit_record_json(r: &AuditRecord) -> Value {
    // The event is itself JSON; embed it as an object when it parses.
    let event = if r.event_json.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&r.event_json).unwrap_or_else(|_| Value::String(r.event_json.clone()))
    };
    json!({
        "sequence": r.sequence,
        "event_id": r.event_id,
        "tenant_id": r.tenant_id,
        "occurred_at": r.occurred_at,
        "operation": r.operation,
        "outcome": r.outcome,
        "resource_type": opt(&r.resource_type),
        "target_id": opt(&r.target_id),
        "target_name": opt(&r.target_name),
        "actor_config_id": opt(&r.actor_config_id),
        "actor_token_id": opt(&r.actor_token_id),
        "actor_admin": opt(&r.actor_admin),
        "correlation_id": opt(&r.correlation_id),
        "status": if r.status == 0 { Value::Null } else { json!(r.status) },
        "detail": opt(&r.detail),
        "event": event,
    })
}

pub fn audit_table(records: &[AuditRecord]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let target = match (r.target_name.is_empty(), r.target_id.is_empty()) {
                (false, false) => format!("{} ({})", r.target_name, r.target_id),
                (false, true) => r.target_name.clone(),
                (true, false) => r.target_id.clone(),
                (true, true) => "-".to_owned(),
            };
            let actor = audit_actor(r);
            vec![
                r.sequence.to_string(),
                dash(&r.occurred_at),
                dash(&r.operation),
                dash(&r.outcome),
                if r.status == 0 {
                    "-".to_owned()
                } else {
                    r.status.to_string()
                },
                dash(&r.resource_type),
                target,
                actor,
                dash(&r.correlation_id),
                dash(&r.detail),
            ]
        })
        .collect();
    table(
        &[
            "SEQ",
            "TIME",
            "OPERATION",
            "OUTCOME",
            "STATUS",
            "TYPE",
            "TARGET",
            "ACTOR",
            "CORRELATION ID",
            "DETAIL",
        ],
        &rows,
    )
}

/// Who acted: the admin when a person did (in the account center, or the operator), else the
/// IdP's token, else its configuration.
fn audit_actor(r: &AuditRecord) -> String {
    if !r.actor_admin.is_empty() {
        r.actor_admin.clone()
    } else if !r.actor_token_id.is_empty() {
        format!("token {}", r.actor_token_id)
    } else {
        dash(&r.actor_config_id)
    }
}

/// One record (`scimctl audit get`): its row, then the event it was recorded from.
pub fn audit_record(r: &AuditRecord) -> Rendered {
    let json = audit_record_json(r);
    let mut text = audit_table(std::slice::from_ref(r));
    if let Some(event) = json.get("event").filter(|event| !event.is_null()) {
        let event = serde_json::to_string_pretty(event).unwrap_or_else(|_| r.event_json.clone());
        text.push_str(&format!("\nevent:\n{event}\n"));
    }
    Rendered { json, text }
}

pub fn failure_rate(response: &FailureRateResponse) -> Rendered {
    let rows: Vec<Vec<String>> = response
        .buckets
        .iter()
        .map(|b| {
            vec![
                b.start.clone(),
                b.requests.to_string(),
                b.failures.to_string(),
                b.throttled.to_string(),
                format!("{:.1}", b.failure_percent),
                if b.over_threshold { "OVER" } else { "" }.to_owned(),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no requests in this range\n".to_owned()
    } else {
        let mut text = table(
            &[
                "BUCKET START",
                "REQUESTS",
                "FAILED",
                "429",
                "FAILED %",
                "FLAG",
            ],
            &rows,
        );
        text.push_str(&format!(
            "\nbuckets of {}s; OVER = more than {}% of the requests failed\n",
            response.bucket_seconds, response.threshold_percent
        ));
        text
    };
    let buckets: Vec<Value> = response
        .buckets
        .iter()
        .map(|b| {
            json!({
                "start": b.start,
                "requests": b.requests,
                "failures": b.failures,
                "throttled": b.throttled,
                "failure_percent": b.failure_percent,
                "over_threshold": b.over_threshold,
            })
        })
        .collect();
    Rendered {
        text,
        json: json!({
            "bucket_seconds": response.bucket_seconds,
            "threshold_percent": response.threshold_percent,
            "buckets": buckets,
        }),
    }
}

pub fn quarantined(events: &[scim_rpc::quarantine::QuarantinedEvent]) -> Rendered {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            vec![
                event.sequence.to_string(),
                event.tenant_id.clone(),
                event.event_type.clone(),
                event.attempts.to_string(),
                event.quarantined_at.clone(),
                event.error.clone(),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no quarantined events\n".to_owned()
    } else {
        table(
            &["SEQUENCE", "TENANT", "EVENT", "ATTEMPTS", "SINCE", "ERROR"],
            &rows,
        )
    };
    let json = json!({
        "events": events.iter().map(|event| json!({
            "consumer": event.consumer,
            "sequence": event.sequence,
            "subject": event.subject,
            "tenant_id": event.tenant_id,
            "event_type": event.event_type,
            "error": event.error,
            "attempts": event.attempts,
            "quarantined_at": event.quarantined_at,
        })).collect::<Vec<_>>(),
    });
    Rendered { json, text }
}

pub fn retried(results: &[scim_rpc::quarantine::RetryResult]) -> Rendered {
    let text = if results.is_empty() {
        "no quarantined events\n".to_owned()
    } else {
        results
            .iter()
            .map(|result| {
                if result.applied {
                    format!("event {}: applied\n", result.sequence)
                } else {
                    format!(
                        "event {}: still failing: {}\n",
                        result.sequence, result.error
                    )
                }
            })
            .collect()
    };
    let json = json!({
        "results": results.iter().map(|result| json!({
            "sequence": result.sequence,
            "applied": result.applied,
            "error": if result.applied { Value::Null } else { json!(result.error) },
        })).collect::<Vec<_>>(),
    });
    Rendered { json, text }
}

pub fn chain_verified(tenant: &str, response: &VerifyResponse) -> Rendered {
    let mut text = format!("verified {} records\n", response.records_verified);
    if response.records_verified > 0 {
        text.push_str(&format!(
            "head: chain position {}, hash {}\n(keep it elsewhere: a later verify whose chain no longer reaches it shows the tail was cut)\n",
            response.head_position, response.head_hash
        ));
    }
    if response.unchained_records > 0 {
        text.push_str(&format!(
            "{} older records, written before the chain began, are not covered\n",
            response.unchained_records
        ));
    }
    Rendered {
        text,
        json: json!({
            "tenant_id": tenant,
            "ok": true,
            "records_verified": response.records_verified,
            "head_position": response.head_position,
            "head_hash": response.head_hash,
            "unchained_records": response.unchained_records,
        }),
    }
}

/// The reason as the proto names it, without the enum prefix: `HASH_MISMATCH`.
fn chain_break_name(response: &VerifyResponse) -> &'static str {
    response
        .reason()
        .as_str_name()
        .trim_start_matches("CHAIN_BREAK_")
}

pub fn chain_broken(
    tenant: &str,
    response: &VerifyResponse,
    record: Option<&AuditRecord>,
) -> Rendered {
    let reason = chain_break_name(response);
    let mut text = format!(
        "chain broken at record {} ({reason}) after {} verified records\n{}\n",
        response.broken_sequence, response.records_verified, response.detail
    );
    if let Some(record) = record {
        text.push('\n');
        text.push_str(&audit_table(std::slice::from_ref(record)));
    }
    Rendered {
        text,
        json: json!({
            "tenant_id": tenant,
            "ok": false,
            "records_verified": response.records_verified,
            "broken_sequence": response.broken_sequence,
            "reason": reason,
            "detail": response.detail,
            "record": record.map(audit_record_json).unwrap_or(Value::Null),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_verification_reads_as_a_verdict() {
        let verified = chain_verified(
            "t1",
            &VerifyResponse {
                records_verified: 12,
                ok: true,
                head_position: 12,
                head_hash: "ab".repeat(32),
                ..VerifyResponse::default()
            },
        );
        assert!(
            verified.text.starts_with("verified 12 records\n"),
            "{}",
            verified.text
        );
        assert_eq!(verified.json["ok"], true);

        let mut broken = VerifyResponse {
            records_verified: 4,
            broken_sequence: 77,
            detail: "record 77 is at chain position 6 but the chain has no position 5".into(),
            ..VerifyResponse::default()
        };
        broken.set_reason(scim_rpc::audit::ChainBreak::MissingPredecessor);
        let rendered = chain_broken("t1", &broken, None);
        assert!(
            rendered.text.starts_with(
                "chain broken at record 77 (MISSING_PREDECESSOR) after 4 verified records\n"
            ),
            "{}",
            rendered.text
        );
        assert_eq!(rendered.json["reason"], "MISSING_PREDECESSOR");
        assert_eq!(rendered.json["broken_sequence"], 77);
    }

    #[test]
    fn table_aligns_columns_and_trims_trailing_space() {
        let out = table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "demo".into()],
                vec!["12345".into(), "x".into()],
            ],
        );
        assert_eq!(out, "ID     NAME\n1      demo\n12345  x\n");
    }

    #[test]
    fn empty_strings_become_null_in_json() {
        let info = TokenInfo {
            id: "tok".into(),
            config_id: "cfg".into(),
            ..TokenInfo::default()
        };
        let value = token_json(&info);
        assert_eq!(value["revoked_at"], Value::Null);
        assert_eq!(value["status"], "active");
    }

    #[test]
    fn pool_members_list_holders_then_the_queue() {
        use scim_rpc::license::WaitingUser;
        let page = ListPoolMembersResponse {
            holders: vec![Assignment {
                user_id: "alice".into(),
                source: "auto".into(),
                ..Assignment::default()
            }],
            waiting: vec![WaitingUser {
                user_id: "bob".into(),
                waiting_since: "2026-03-01T12:00:00Z".into(),
                position: 1,
            }],
            next_page_token: "abc".into(),
            holders_total: 1,
            waiting_total: 3,
        };
        let rendered = pool_members(&page);
        let lines: Vec<&str> = rendered.text.lines().collect();
        assert!(lines[1].starts_with("alice") && lines[1].contains("holds a seat"));
        assert!(lines[2].starts_with("bob") && lines[2].contains("waiting #1"));
        assert_eq!(lines[3], "1 holding a seat, 3 waiting");
        assert!(lines[4].contains("--page-token abc"), "{}", rendered.text);
        assert_eq!(rendered.json["waiting"][0]["position"], 1);
        assert_eq!(rendered.json["next_page_token"], "abc");
        let last = pool_members(&ListPoolMembersResponse::default());
        assert_eq!(last.json["next_page_token"], Value::Null);
    }

    #[test]
    fn offerings_say_which_pool_draws_on_them() {
        let offering = Offering {
            tenant_id: "t1".into(),
            application_instance: "crm".into(),
            license_type: "core".into(),
            seats: 5,
            ..Offering::default()
        };
        assert!(
            offering_set(&offering)
                .text
                .contains("no configuration uses it yet")
        );
        assert_eq!(offering_json(&offering)["pool_id"], Value::Null);
        let drawn = Offering {
            config_id: "c1".into(),
            pool_id: "p1".into(),
            ..offering
        };
        let text = offerings(&[drawn]).text;
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["crm", "core", "5", "c1", "p1"]);
    }

    #[test]
    fn configurations_show_their_status_and_a_one_line_description() {
        let mut config = ScimConfig {
            id: "c1".into(),
            name: "Okta".into(),
            description: "EU org\nprovisioning only".into(),
            ..ScimConfig::default()
        };
        let value = config_json(&config);
        assert_eq!(value["status"], "enabled");
        assert_eq!(value["disabled_at"], Value::Null);
        assert_eq!(value["description"], "EU org\nprovisioning only");
        let table = configs_table(std::slice::from_ref(&config));
        assert!(
            table.contains("enabled") && table.contains("EU org…"),
            "{table}"
        );
        assert!(!table.contains("provisioning only"), "{table}");

        config.disabled_at = "2026-12-02T10:00:00.000Z".into();
        config.description = "x".repeat(50);
        assert_eq!(config_json(&config)["status"], "disabled");
        let table = configs_table(&[config]);
        assert!(table.contains(&format!("{}…", "x".repeat(39))), "{table}");
        assert!(!table.contains(&"x".repeat(40)), "{table}");
        assert_eq!(description_cell(""), "-");
    }

    #[test]
    fn a_rotation_shows_the_new_secret_and_the_old_expiry() {
        let rotated = RotatedToken {
            issued: Some(IssuedToken {
                info: Some(TokenInfo {
                    id: "new".into(),
                    ..TokenInfo::default()
                }),
                secret: "scimtok_secret".into(),
            }),
            previous: Some(TokenInfo {
                id: "old".into(),
                expires_at: "2026-12-04T10:00:00.000Z".into(),
                ..TokenInfo::default()
            }),
        };
        let rendered = rotated_token(&rotated);
        assert!(rendered.text.contains("secret:     scimtok_secret"));
        assert!(
            rendered
                .text
                .contains("previous:   old now expires at 2026-12-04T10:00:00.000Z")
        );
        assert_eq!(rendered.json["issued"]["secret"], "scimtok_secret");
        assert_eq!(rendered.json["issued"]["info"]["id"], "new");
        assert_eq!(
            rendered.json["previous"]["expires_at"],
            "2026-12-04T10:00:00.000Z"
        );
    }

    #[test]
    fn audit_event_json_is_embedded_as_an_object() {
        let record = AuditRecord {
            event_json: r#"{"type":"user.created"}"#.into(),
            ..AuditRecord::default()
        };
        assert_eq!(audit_record_json(&record)["event"]["type"], "user.created");
    }

    #[test]
    fn audit_records_name_the_admin_who_acted() {
        let by_admin = AuditRecord {
            sequence: 17,
            operation: "admin.token.issue".into(),
            actor_config_id: "cfg1".into(),
            actor_admin: "admin:a1:ada@example.com".into(),
            event_json: r#"{"type":"AdminActionTaken"}"#.into(),
            ..AuditRecord::default()
        };
        let by_idp = AuditRecord {
            sequence: 18,
            actor_config_id: "cfg1".into(),
            actor_token_id: "tok1".into(),
            ..AuditRecord::default()
        };
        let table = audit_table(&[by_admin.clone(), by_idp.clone()]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("SEQ"), "{table}");
        assert!(lines[1].starts_with("17 "), "{table}");
        assert!(lines[1].contains("admin:a1:ada@example.com"), "{table}");
        assert!(lines[2].contains("token tok1"), "{table}");
        assert_eq!(
            audit_record_json(&by_admin)["actor_admin"],
            "admin:a1:ada@example.com"
        );
        assert_eq!(audit_record_json(&by_idp)["actor_admin"], Value::Null);
        let rendered = audit_record(&by_admin);
        assert!(
            rendered.text.contains("\"type\": \"AdminActionTaken\""),
            "{}",
            rendered.text
        );
        assert_eq!(rendered.json["sequence"], 17);
    }

    #[test]
    fn failure_rate_marks_buckets_over_the_threshold() {
        use scim_rpc::audit::FailureRateBucket;
        let response = FailureRateResponse {
            buckets: vec![
                FailureRateBucket {
                    start: "2026-03-01T12:00:00Z".into(),
                    requests: 10,
                    ..FailureRateBucket::default()
                },
                FailureRateBucket {
                    start: "2026-03-01T13:00:00Z".into(),
                    requests: 8,
                    failures: 5,
                    throttled: 2,
                    failure_percent: 62.5,
                    over_threshold: true,
                },
            ],
            threshold_percent: 40.0,
            bucket_seconds: 3600,
        };
        let rendered = failure_rate(&response);
        let lines: Vec<&str> = rendered.text.lines().collect();
        assert!(!lines[1].contains("OVER"), "{}", rendered.text);
        assert!(
            lines[2].contains(" 62.5 ") && lines[2].ends_with("OVER"),
            "{}",
            rendered.text
        );
        assert_eq!(rendered.json["buckets"][1]["over_threshold"], true);
        assert_eq!(rendered.json["buckets"][1]["throttled"], 2);
        let empty = failure_rate(&FailureRateResponse::default());
        assert_eq!(empty.text, "no requests in this range\n");
    }
}
