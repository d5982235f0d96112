//! The landing page: the tenant at a glance and its SCIM configurations, like Entra's
//! "Synchronization details".

use maud::{Markup, html};
use scim_rpc::account::{ScimConfig, TenantSummaryResponse};
use scim_rpc::audit::AuditRecord;
use scim_rpc::license::Pool;

use super::{Chrome, page, when};

/// One configuration as the overview shows it.
pub struct ConfigCard {
    pub config: ScimConfig,
    /// The pool auto-assigning for it, if any.
    pub pool: Option<Pool>,
    /// The last request its IdP made (newest record with it as actor).
    pub last_request: Option<AuditRecord>,
}

pub struct OverviewPage<'a> {
    pub chrome: Chrome<'a>,
    pub summary: TenantSummaryResponse,
    pub licensed_users: u64,
    pub configs: Vec<ConfigCard>,
    pub recent_failures: Vec<AuditRecord>,
}

pub fn overview_page(view: &OverviewPage<'_>) -> Markup {
    page(
        "SCIM configurations",
        Some(&view.chrome),
        html! {
            div.page-head {
                div {
                    h1 { "SCIM configurations" }
                    p.lead { "Connect your identity provider (Microsoft Entra ID, Okta, …) to provision users and groups automatically." }
                }
                a.button href="/configs/new" id="add-config" { "+ Add new SCIM configuration" }
            }
            div.grid {
                div.stat { div.label { "Active users" } div.value id="users-active" { (view.summary.users_active) } div.hint { (view.summary.users_inactive) " disabled" } }
                div.stat { div.label { "Groups" } div.value id="groups" { (view.summary.groups) } }
                div.stat { div.label { "Licensed users" } div.value id="users-licensed" { (view.licensed_users) } }
            }
            @if view.configs.is_empty() {
                div.card {
                    h2 { "No SCIM configuration yet" }
                    p { "Add one, generate an access token, and paste the Tenant URL and the token into your identity provider's provisioning settings." }
                }
            }
            @for card in &view.configs {
                div.card.config-card {
                    div.page-head style="margin-bottom: 8px" {
                        div {
                            h2 style="margin-bottom: 2px" { a href={ "/configs/" (card.config.id) } { (card.config.name) } }
                            @if !card.config.description.is_empty() { div.muted { (card.config.description) } }
                        }
                        @if card.config.disabled_at.is_empty() { span.badge.ok { "Enabled" } } @else { span.badge.bad { "Disabled" } }
                    }
                    dl.kv {
                        dt { "Last request" }
                        dd {
                            @match &card.last_request {
                                Some(record) => {
                                    (when(&record.occurred_at)) " · " (record.operation) " "
                                    @if record.outcome == "success" { span.badge.ok { "success" } } @else { span.badge.bad { "failure" } }
                                }
                                None => span.muted { "No request from the identity provider yet" },
                            }
                        }
                        dt { "Licenses" }
                        dd {
                            @match &card.pool {
                                Some(pool) => {
                                    (pool.seats_used) " of " (pool.seats) " seats used · " (pool.application_instance) " / " (pool.license_type)
                                    @if pool.seats_used >= pool.seats { " " span.badge.bad { "Pool exhausted" } }
                                }
                                None => span.muted { "Auto-assign off: only user data is synced" },
                            }
                        }
                    }
                }
            }
            div.card {
                h2 { "Recent failures" }
                @if view.recent_failures.is_empty() {
                    p.empty { "No failed provisioning actions." }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { "Time" } th { "Operation" } th { "Target" } th { "Error" } } }
                        tbody {
                            @for record in &view.recent_failures {
                                tr {
                                    td { a href={ "/log/" (record.sequence) } { (when(&record.occurred_at)) } }
                                    td { (record.operation) }
                                    td { (record.target_name) }
                                    td { (record.detail) }
                                }
                            }
                        }
                    } }
                    p { a href="/log?outcome=failure" { "All failures in the provisioning log →" } }
                }
            }
        },
    )
}
