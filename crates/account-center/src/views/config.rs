//! One SCIM configuration: its Tenant URL and tokens, its licenses, the setup guides for
//! Entra ID and Okta with its real values, and its settings.

use maud::{Markup, html};
use scim_rpc::account::{ScimConfig, TokenInfo};
use scim_rpc::license::{Assignment, Offering, Pool, WaitingUser};

use super::{Chrome, copy_field, csrf_field, page, when};

/// Token lifetimes an admin can pick; the first is the default (two years, as LinkedIn's).
pub const TOKEN_LIFETIMES_DAYS: [(u32, &str); 4] = [
    (730, "2 years"),
    (365, "1 year"),
    (90, "90 days"),
    (30, "30 days"),
];

/// How long a rotated token keeps working, in hours.
pub const ROTATION_OVERLAPS_HOURS: [(u32, &str); 5] = [
    (24, "1 day"),
    (0, "none (stop now)"),
    (72, "3 days"),
    (168, "7 days"),
    (1, "1 hour"),
];

pub struct TokenRow {
    pub info: TokenInfo,
    /// "Active", "Expired" or "Revoked".
    pub status: &'static str,
}

pub struct LicenseSection {
    pub offerings: Vec<Offering>,
    /// The pool auto-assigning for this configuration.
    pub pool: Option<Pool>,
    pub holders: Vec<(Assignment, String)>,
    pub waiting: Vec<(WaitingUser, String)>,
    pub holders_total: u64,
    pub waiting_total: u64,
}

pub struct ConfigPage<'a> {
    pub chrome: Chrome<'a>,
    pub config: ScimConfig,
    pub scim_base_url: &'a str,
    pub tokens: Vec<TokenRow>,
    pub licenses: LicenseSection,
    /// A message after an action (e.g. "Token revoked").
    pub notice: Option<String>,
}

pub fn config_page(view: &ConfigPage<'_>) -> Markup {
    let config = &view.config;
    let base = format!("/configs/{}", config.id);
    let csrf = view.chrome.csrf;
    page(
        &config.name,
        Some(&view.chrome),
        html! {
            p { a href="/" { "← SCIM configurations" } }
            div.page-head {
                div {
                    h1 id="config-name" { (config.name) }
                    @if !config.description.is_empty() { p.lead { (config.description) } }
                }
                @if config.disabled_at.is_empty() {
                    span.badge.ok id="config-status" { "Enabled" }
                } @else {
                    span.badge.bad id="config-status" { "Disabled since " (when(&config.disabled_at)) }
                }
            }
            @if let Some(notice) = &view.notice { div.notice.ok role="status" id="notice" { (notice) } }
            @if !config.disabled_at.is_empty() {
                div.notice.warn { "This configuration is disabled: its tokens are refused until you enable it again." }
            }
            div.card {
                h2 { "Connection" }
                (copy_field("tenant-url", "Tenant URL (SCIM base URL)", view.scim_base_url))
                p.muted { "Paste this URL and an access token into your identity provider's provisioning settings." }
            }
            div.card {
                h2 { "Access tokens" }
                @if view.tokens.is_empty() {
                    p.empty { "No token yet. Generate one to connect your identity provider." }
                } @else {
                    div.table-wrap { table id="tokens" {
                        thead { tr { th { "Token" } th { "Created" } th { "Expires" } th { "Last used" } th { "Status" } th { "Actions" } } }
                        tbody {
                            @for row in &view.tokens {
                                tr data-token-prefix=(row.info.prefix) {
                                    td.mono { (row.info.prefix) "…" }
                                    td { (when(&row.info.created_at)) }
                                    td { (when(&row.info.expires_at)) }
                                    td { @if row.info.last_used_at.is_empty() { span.muted { "never" } } @else { (when(&row.info.last_used_at)) } }
                                    td {
                                        @match row.status {
                                            "Active" => span.badge.ok { "Active" },
                                            other => span.badge.bad { (other) },
                                        }
                                    }
                                    td {
                                        @if row.status == "Active" {
                                            form.inline method="post" action={ (base) "/tokens/" (row.info.id) "/rotate" } {
                                                (csrf_field(csrf))
                                                label for={ "overlap-" (row.info.id) } { "Old token works for " }
                                                select name="overlap_hours" id={ "overlap-" (row.info.id) } {
                                                    @for (hours, label) in ROTATION_OVERLAPS_HOURS { option value=(hours) { (label) } }
                                                }
                                                " "
                                                button.secondary.small type="submit" { "Rotate" }
                                            }
                                            " "
                                            form.inline method="post" action={ (base) "/tokens/" (row.info.id) "/revoke" } {
                                                (csrf_field(csrf))
                                                button.danger.small type="submit" { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                    @if view.tokens.iter().filter(|row| row.status == "Active").count() > 1 {
                        form.inline method="post" action={ (base) "/tokens/revoke-all" } {
                            (csrf_field(csrf))
                            button.danger.small type="submit" id="revoke-all-tokens" { "Revoke all tokens" }
                            " "
                            span.muted { "If a token may have leaked: every token of this configuration is refused at once." }
                        }
                    }
                }
                form method="post" action={ (base) "/tokens" } {
                    (csrf_field(csrf))
                    div.row {
                        div.field {
                            label for="valid-days" { "Expires after" }
                            select name="valid_days" id="valid-days" {
                                @for (days, label) in TOKEN_LIFETIMES_DAYS { option value=(days) { (label) } }
                            }
                        }
                        div.field { button type="submit" id="generate-token" { "Generate token" } }
                    }
                }
            }
            (license_card(&base, csrf, &view.licenses))
            (setup_guides(config, view.scim_base_url))
            div.card {
                h2 { "Settings" }
                form method="post" action={ (base) "/settings" } {
                    (csrf_field(csrf))
                    div.field {
                        label for="name" { "Name" }
                        input type="text" id="name" name="name" value=(config.name) required maxlength="200";
                    }
                    div.field {
                        label for="description" { "Description (optional)" }
                        textarea id="description" name="description" maxlength="1000" { (config.description) }
                    }
                    button.secondary type="submit" { "Save" }
                }
                h3 { "Status" }
                @if config.disabled_at.is_empty() {
                    p.muted { "Disabling refuses every token of this configuration at once; enabling accepts them again." }
                    form method="post" action={ (base) "/disable" } { (csrf_field(csrf)) button.secondary type="submit" id="disable" { "Disable configuration" } }
                } @else {
                    form method="post" action={ (base) "/enable" } { (csrf_field(csrf)) button type="submit" id="enable" { "Enable configuration" } }
                }
                h3 { "Delete" }
                p { a href={ (base) "/delete" } id="delete" { "Delete this configuration…" } }
            }
        },
    )
}

fn license_card(base: &str, csrf: &str, licenses: &LicenseSection) -> Markup {
    html! {
        div.card id="licenses" {
            h2 { "Licenses" }
            @match &licenses.pool {
                None => {
                    p id="auto-assign-state" { strong { "Auto-assign licenses is off." } " Only user data is synced." }
                }
                Some(pool) => {
                    p id="auto-assign-state" { strong { "Auto-assign licenses is on" } " for " (pool.application_instance) " / " (pool.license_type) ": licenses go to users first come, first served until all are taken." }
                    @let full = pool.seats_used >= pool.seats;
                    div.meter.full[full] { span style={ "width: " (percent(pool.seats_used, pool.seats)) "%" } {} }
                    p id="seats" {
                        strong { (pool.seats_used) " of " (pool.seats) " seats used" }
                        @if full { " " span.badge.bad id="pool-exhausted" { "Pool exhausted" } }
                        @if licenses.waiting_total > 0 { " · " span id="waiting-count" { (licenses.waiting_total) " waiting" } }
                    }
                }
            }
            @if licenses.offerings.is_empty() {
                p.muted { "Your vendor has not set up any license offering for your organisation yet." }
            } @else {
                form method="post" action={ (base) "/auto-assign" } {
                    (csrf_field(csrf))
                    div.row {
                        div.field {
                            label for="offering" { "Application instance and license type" }
                            select id="offering" name="offering" {
                                @for offering in &licenses.offerings {
                                    @let value = offering_value(&offering.application_instance, &offering.license_type);
                                    @let selected = licenses.pool.as_ref().is_some_and(|pool| pool.application_instance == offering.application_instance && pool.license_type == offering.license_type);
                                    option value=(value) selected[selected] {
                                        (offering.application_instance) " / " (offering.license_type) " (" (offering.seats) " seats)"
                                    }
                                }
                            }
                        }
                        div.field {
                            @if licenses.pool.is_some() {
                                button.secondary type="submit" name="enabled" value="off" id="auto-assign-off" { "Turn auto-assign off" }
                            }
                            button type="submit" name="enabled" value="on" id="auto-assign-on" {
                                @if licenses.pool.is_some() { "Switch offering" } @else { "Turn auto-assign on" }
                            }
                        }
                    }
                }
            }
            @if let Some(pool) = &licenses.pool {
                h3 { "Users holding a seat (" (licenses.holders_total) ")" }
                @if licenses.holders.is_empty() { p.empty { "Nobody yet." } } @else {
                    div.table-wrap { table id="holders" {
                        thead { tr { th { "User" } th { "Since" } th { "How" } th {} } }
                        tbody { @for (assignment, name) in &licenses.holders {
                            tr {
                                td { (name) }
                                td { (when(&assignment.assigned_at)) }
                                td { (assignment.source) }
                                td { form.inline method="post" action={ (base) "/seats/revoke" } {
                                    (csrf_field(csrf))
                                    input type="hidden" name="pool_id" value=(pool.id);
                                    input type="hidden" name="user_id" value=(assignment.user_id);
                                    button.danger.small type="submit" { "Revoke seat" }
                                } }
                            }
                        } }
                    } }
                }
                h3 { "Users waiting for a seat (" (licenses.waiting_total) ")" }
                @if licenses.waiting.is_empty() { p.empty { "Nobody is waiting." } } @else {
                    div.table-wrap { table id="waiting" {
                        thead { tr { th { "#" } th { "User" } th { "Waiting since" } th {} } }
                        tbody { @for (waiting, name) in &licenses.waiting {
                            tr {
                                td { (waiting.position) }
                                td { (name) }
                                td { (when(&waiting.waiting_since)) }
                                td { form.inline method="post" action={ (base) "/seats/assign" } {
                                    (csrf_field(csrf))
                                    input type="hidden" name="pool_id" value=(pool.id);
                                    input type="hidden" name="user" value=(waiting.user_id);
                                    button.small type="submit" { "Assign seat" }
                                } }
                            }
                        } }
                    } }
                }
                form method="post" action={ (base) "/seats/assign" } {
                    (csrf_field(csrf))
                    input type="hidden" name="pool_id" value=(pool.id);
                    div.row {
                        div.field {
                            label for="assign-user" { "Assign a seat by hand (userName or user id)" }
                            input type="text" id="assign-user" name="user" required maxlength="512";
                        }
                        div.field { button.secondary type="submit" { "Assign seat" } }
                    }
                }
            }
        }
    }
}

/// The form value naming an offering: its two names joined by a character neither may
/// contain (they are checked for control characters).
pub fn offering_value(application_instance: &str, license_type: &str) -> String {
    format!("{application_instance}\u{1f}{license_type}")
}

pub fn parse_offering_value(value: &str) -> Option<(&str, &str)> {
    value.split_once('\u{1f}')
}

fn percent(used: u32, total: u32) -> u32 {
    if total == 0 {
        100
    } else {
        (u64::from(used) * 100 / u64::from(total)).min(100) as u32
    }
}

fn setup_guides(config: &ScimConfig, scim_base_url: &str) -> Markup {
    html! {
        div.card {
            h2 { "Set up your identity provider" }
            details.guide open {
                summary { "Microsoft Entra ID" }
                ol.steps {
                    li { "In the Microsoft Entra admin center, open " strong { "Enterprise applications" } ", add (or open) the application and select " strong { "Provisioning" } "." }
                    li { "Set " strong { "Provisioning Mode" } " to " em { "Automatic" } "." }
                    li { "Under " strong { "Admin Credentials" } ", set " strong { "Tenant URL" } " to " code { (scim_base_url) } " and " strong { "Secret Token" } " to a token generated above (for “" (config.name) "”)." }
                    li { "Click " strong { "Test Connection" } ", then " strong { "Save" } "." }
                    li { "Under " strong { "Mappings" } ", keep the user attributes you need (userName, active, emails, name, manager) and the group mapping if you push groups." }
                    li { "Under " strong { "Settings" } ", choose the scope (assigned users and groups) and set " strong { "Provisioning Status" } " to " em { "On" } ". The first cycle syncs everyone in scope; later cycles every 40 minutes send only changes." }
                }
            }
            details.guide {
                summary { "Okta" }
                ol.steps {
                    li { "In the Okta Admin Console, open the application, then " strong { "General → App Settings → Edit" } " and enable " strong { "SCIM provisioning" } "." }
                    li { "On the " strong { "Provisioning" } " tab, set " strong { "SCIM connector base URL" } " to " code { (scim_base_url) } " and " strong { "Unique identifier field for users" } " to " code { "userName" } "." }
                    li { "Select " strong { "Push New Users, Push Profile Updates, Push Groups" } " and, as authentication mode, " strong { "HTTP Header" } " with a token generated above as the Bearer token." }
                    li { "Click " strong { "Test Connector Configuration" } ", then " strong { "Save" } "." }
                    li { "Under " strong { "To App" } ", enable " em { "Create Users" } ", " em { "Update User Attributes" } " and " em { "Deactivate Users" } "." }
                }
            }
        }
    }
}

pub struct NewTokenPage<'a> {
    pub chrome: Chrome<'a>,
    pub config: ScimConfig,
    pub secret: String,
    pub token: TokenInfo,
    /// After a rotation: the old token's prefix and when it stops working.
    pub previous: Option<TokenInfo>,
}

pub fn new_token_page(view: &NewTokenPage<'_>) -> Markup {
    page(
        "Access token",
        Some(&view.chrome),
        html! {
            p { a href={ "/configs/" (view.config.id) } { "← " (view.config.name) } }
            h1 { "Your new access token" }
            div.notice.warn role="alert" { strong { "Copy this token now." } " It is shown only once and cannot be retrieved again. Store it in your identity provider's provisioning settings." }
            div.card {
                (copy_field("access-token", "Access token", &view.secret))
                dl.kv {
                    dt { "Configuration" } dd { (view.config.name) }
                    dt { "Token" } dd.mono id="token-prefix" { (view.token.prefix) }
                    dt { "Expires" } dd { (when(&view.token.expires_at)) }
                }
                @if let Some(previous) = &view.previous {
                    p.notice.info id="previous-token" { "The previous token " code { (previous.prefix) "…" } " keeps working until " (when(&previous.expires_at)) ", then stops." }
                }
                p { a.button href={ "/configs/" (view.config.id) } id="done" { "Done" } }
            }
        },
    )
}

pub fn new_config_page(chrome: &Chrome<'_>) -> Markup {
    page(
        "Add SCIM configuration",
        Some(chrome),
        html! {
            p { a href="/" { "← SCIM configurations" } }
            h1 { "Add new SCIM configuration" }
            p.lead { "One configuration per identity provider connection. You can generate its access token next." }
            div.card {
                form method="post" action="/configs" {
                    (csrf_field(chrome.csrf))
                    div.field {
                        label for="name" { "Name" }
                        input type="text" id="name" name="name" required maxlength="200" placeholder="Microsoft Entra ID";
                        span.help { "Shown to you only, to tell configurations apart." }
                    }
                    div.field {
                        label for="description" { "Description (optional)" }
                        textarea id="description" name="description" maxlength="1000" {}
                    }
                    button type="submit" id="create-config" { "Add configuration" }
                }
            }
        },
    )
}

pub struct DeleteConfirmation<'a> {
    pub chrome: Chrome<'a>,
    pub config: ScimConfig,
    pub active_tokens: usize,
    pub pool: Option<Pool>,
}

pub fn delete_confirmation(view: &DeleteConfirmation<'_>) -> Markup {
    let config = &view.config;
    page(
        "Delete configuration",
        Some(&view.chrome),
        html! {
            p { a href={ "/configs/" (config.id) } { "← " (config.name) } }
            h1 { "Delete “" (config.name) "”?" }
            div.card {
                p { "Deleting this configuration:" }
                ul {
                    li { "revokes its " strong { (view.active_tokens) " active token(s)" } " at once: your identity provider's requests will be refused;" }
                    li { "keeps the users and groups it provisioned in your directory (another configuration can manage them);" }
                    @match &view.pool {
                        Some(pool) => li { "turns auto-assign off for " (pool.application_instance) " / " (pool.license_type) "; the " (pool.seats_used) " seat(s) already given stay assigned until you revoke them;" },
                        None => li { "changes no license (auto-assign is off);" },
                    }
                    li { "cannot be undone." }
                }
                form method="post" action={ "/configs/" (config.id) "/delete" } {
                    (csrf_field(view.chrome.csrf))
                    button.danger type="submit" id="confirm-delete" { "Delete configuration" }
                    " "
                    a.button.secondary href={ "/configs/" (config.id) } { "Cancel" }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offering_values_round_trip() {
        let value = offering_value("sales-navigator", "core");
        assert_eq!(
            parse_offering_value(&value),
            Some(("sales-navigator", "core"))
        );
        assert_eq!(parse_offering_value("no separator"), None);
    }

    #[test]
    fn the_seat_meter_is_bounded() {
        assert_eq!(percent(1, 2), 50);
        assert_eq!(percent(3, 2), 100);
        assert_eq!(percent(0, 0), 100);
    }
}
