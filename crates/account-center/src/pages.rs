//! Page handlers: gather what a page shows (always inside the signed-in admin's tenant),
//! render it with `views`, and turn forms into calls. Every state-changing form arrives
//! as [`Posted`], so its CSRF token has been checked.

use axum::Form;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::Markup;
use scim_rpc::account::{ScimConfig, TokenInfo, UpdateScimConfigRequest};
use scim_rpc::audit::AuditQueryRequest;
use serde::Deserialize;

use crate::backend::Scope;
use crate::error::{AppError, PageError};
use crate::export::{self, Format};
use crate::identity::Invitation;
use crate::session::{Posted, SignedIn, cleared_cookie, session_cookie};
use crate::state::AppState;
use crate::views::{self, Chrome, ConfigCard, LicenseSection, LogFilterForm, Nav, TokenRow};

type PageResult<T = Markup> = Result<T, PageError>;

/// Records per page of the log.
const LOG_PAGE_SIZE: u32 = 50;

/// Makes a one-time sign-in link for an admin of `tenant_id` (operator only).
pub async fn invite(
    state: &AppState,
    tenant_id: &str,
    email: Option<&str>,
    created_by: &str,
) -> Result<(String, Invitation), AppError> {
    // A link for a tenant that does not exist would sign someone in to nothing.
    state.backend.tenant(tenant_id).await?;
    let invitation = state.identity.invite(tenant_id, email, created_by).await?;
    Ok((state.settings.sign_in_url(&invitation.secret), invitation))
}

pub async fn sign_in_prompt(
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> PageResult {
    let usable = state.identity.invite_is_usable(&secret).await?;
    Ok(views::sign_in_prompt(&secret, usable))
}

pub async fn revoke_all_tokens(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<NoFields>,
) -> PageResult<Redirect> {
    state
        .backend
        .revoke_all_tokens(&posted.admin.scope(), &config_id)
        .await?;
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice=revoked-all"
    )))
}

#[derive(Deserialize)]
pub struct SignInForm {
    link: String,
}

/// Spends the link and starts the session. No CSRF token yet (there is no session): the
/// link's own secret is what proves the request.
pub async fn sign_in(
    State(state): State<AppState>,
    Form(form): Form<SignInForm>,
) -> PageResult<Response> {
    let secret = state.identity.sign_in_with_link(&form.link).await?;
    let cookie = session_cookie(&secret, state.settings.secure_cookies())?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn signed_out() -> Markup {
    views::signed_out_page()
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn sign_out(
    State(state): State<AppState>,
    posted: Posted<NoFields>,
) -> PageResult<Response> {
    state.identity.sign_out(&posted.admin.cookie_secret).await?;
    let mut response = Redirect::to("/signed-out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cleared_cookie(state.settings.secure_cookies()),
    );
    Ok(response)
}

/// The tenant's name for the page frame.
async fn tenant_name(state: &AppState, admin: &SignedIn) -> Result<String, AppError> {
    Ok(state
        .backend
        .tenant(&admin.session.admin.tenant_id)
        .await?
        .name)
}

fn chrome<'a>(admin: &'a SignedIn, tenant_name: &'a str, active: Nav) -> Chrome<'a> {
    Chrome {
        tenant_name,
        admin_email: &admin.session.admin.email,
        csrf: admin.csrf_token(),
        active,
    }
}

pub async fn overview(State(state): State<AppState>, admin: SignedIn) -> PageResult {
    let scope = admin.scope();
    let backend = &state.backend;
    let (name, summary, configs, pools, failures) = futures::try_join!(
        tenant_name(&state, &admin),
        backend.summary(&scope),
        backend.configs(&scope),
        backend.pools(&scope),
        backend.log(
            &scope,
            AuditQueryRequest {
                outcome: "failure".into(),
                newest_first: true,
                page_size: 5,
                ..AuditQueryRequest::default()
            },
        ),
    )?;
    let last_requests = futures::future::try_join_all(configs.iter().map(|config| {
        backend.log(
            &scope,
            AuditQueryRequest {
                actor: config.id.clone(),
                newest_first: true,
                page_size: 1,
                ..AuditQueryRequest::default()
            },
        )
    }))
    .await?;
    let licensed_users = pools.iter().map(|pool| u64::from(pool.seats_used)).sum();
    let cards = configs
        .into_iter()
        .zip(last_requests)
        .map(|(config, last)| ConfigCard {
            pool: pools
                .iter()
                .find(|pool| pool.config_id == config.id && pool.auto_assign)
                .cloned(),
            last_request: last.records.into_iter().next(),
            config,
        })
        .collect();
    Ok(views::overview_page(&views::OverviewPage {
        chrome: chrome(&admin, &name, Nav::Overview),
        summary,
        licensed_users,
        configs: cards,
        recent_failures: failures.records,
    }))
}

pub async fn new_config(State(state): State<AppState>, admin: SignedIn) -> PageResult {
    let name = tenant_name(&state, &admin).await?;
    Ok(views::new_config_page(&chrome(
        &admin,
        &name,
        Nav::Overview,
    )))
}

#[derive(Deserialize)]
pub struct ConfigForm {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create_config(
    State(state): State<AppState>,
    posted: Posted<ConfigForm>,
) -> PageResult<Redirect> {
    let config = state
        .backend
        .create_config(
            &posted.admin.scope(),
            &posted.form.name,
            &posted.form.description,
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/configs/{}?notice=created",
        config.id
    )))
}

/// Messages shown after an action; the query names one, so no text is reflected.
#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => {
            "Configuration added. Generate an access token to connect your identity provider."
        }
        "saved" => "Settings saved.",
        "disabled" => "Configuration disabled: its tokens are refused from now on.",
        "enabled" => "Configuration enabled: its tokens are accepted again.",
        "revoked" => "Token revoked: it is refused from now on.",
        "revoked-all" => {
            "All tokens revoked: your identity provider's requests are refused until you \
             generate a new token and paste it there."
        }
        "auto-assign-on" => "Auto-assign turned on.",
        "auto-assign-off" => "Auto-assign turned off: only user data is synced.",
        "seat-assigned" => "Seat assigned.",
        "seat-revoked" => "Seat revoked.",
        _ => return None,
    })
}

pub fn token_status(token: &TokenInfo, now: DateTime<Utc>) -> &'static str {
    if !token.revoked_at.is_empty() {
        return "Revoked";
    }
    match DateTime::parse_from_rfc3339(&token.expires_at) {
        Ok(expires) if expires <= now => "Expired",
        _ => "Active",
    }
}

/// The configuration's license section: its auto-assigning pool with holders and waiting
/// users (first page, with userNames), and the tenant's offerings.
pub async fn license_section(
    state: &AppState,
    scope: &Scope,
    config_id: &str,
) -> Result<LicenseSection, AppError> {
    let licenses = state.backend.licenses(scope, config_id).await?;
    let pool = licenses.auto_assigning().cloned();
    let mut section = LicenseSection {
        offerings: licenses.offerings,
        pool: pool.clone(),
        holders: Vec::new(),
        waiting: Vec::new(),
        holders_total: 0,
        waiting_total: 0,
    };
    if let Some(pool) = pool {
        let members = state.backend.pool_members(scope, &pool.id, "").await?;
        let ids = members
            .holders
            .iter()
            .map(|holder| holder.user_id.as_str())
            .chain(
                members
                    .waiting
                    .iter()
                    .map(|waiting| waiting.user_id.as_str()),
            );
        let names = state.backend.user_names(scope, ids).await?;
        let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
        section.holders_total = members.holders_total;
        section.waiting_total = members.waiting_total;
        section.holders = members
            .holders
            .into_iter()
            .map(|holder| {
                let name = name_of(&holder.user_id);
                (holder, name)
            })
            .collect();
        section.waiting = members
            .waiting
            .into_iter()
            .map(|waiting| {
                let name = name_of(&waiting.user_id);
                (waiting, name)
            })
            .collect();
    }
    Ok(section)
}

pub async fn config(
    State(state): State<AppState>,
    admin: SignedIn,
    Path(config_id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let scope = admin.scope();
    let (name, config, tokens, licenses) = futures::try_join!(
        tenant_name(&state, &admin),
        state.backend.config(&scope, &config_id),
        state.backend.tokens(&scope, &config_id),
        license_section(&state, &scope, &config_id),
    )?;
    let now = Utc::now();
    let tokens = tokens
        .into_iter()
        .rev()
        .map(|info| TokenRow {
            status: token_status(&info, now),
            info,
        })
        .collect();
    Ok(views::config_page(&views::ConfigPage {
        chrome: chrome(&admin, &name, Nav::Overview),
        config,
        scim_base_url: &state.settings.scim_base_url,
        tokens,
        licenses,
        notice: query
            .notice
            .as_deref()
            .and_then(notice_text)
            .map(str::to_owned),
    }))
}

pub async fn update_settings(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<ConfigForm>,
) -> PageResult<Redirect> {
    let change = UpdateScimConfigRequest {
        name: Some(posted.form.name),
        description: Some(posted.form.description),
        ..UpdateScimConfigRequest::default()
    };
    state
        .backend
        .update_config(&posted.admin.scope(), &config_id, change)
        .await?;
    Ok(Redirect::to(&format!("/configs/{config_id}?notice=saved")))
}

async fn set_disabled(
    state: &AppState,
    admin: &SignedIn,
    config_id: &str,
    disabled: bool,
) -> Result<Redirect, AppError> {
    let change = UpdateScimConfigRequest {
        disabled: Some(disabled),
        ..UpdateScimConfigRequest::default()
    };
    state
        .backend
        .update_config(&admin.scope(), config_id, change)
        .await?;
    let notice = if disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice={notice}"
    )))
}

pub async fn disable(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<NoFields>,
) -> PageResult<Redirect> {
    Ok(set_disabled(&state, &posted.admin, &config_id, true).await?)
}

pub async fn enable(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<NoFields>,
) -> PageResult<Redirect> {
    Ok(set_disabled(&state, &posted.admin, &config_id, false).await?)
}

pub async fn delete_confirmation(
    State(state): State<AppState>,
    admin: SignedIn,
    Path(config_id): Path<String>,
) -> PageResult {
    let scope = admin.scope();
    let (name, config, tokens, licenses) = futures::try_join!(
        tenant_name(&state, &admin),
        state.backend.config(&scope, &config_id),
        state.backend.tokens(&scope, &config_id),
        state.backend.licenses(&scope, &config_id),
    )?;
    let now = Utc::now();
    Ok(views::delete_confirmation(&views::DeleteConfirmation {
        chrome: chrome(&admin, &name, Nav::Overview),
        config,
        active_tokens: tokens
            .iter()
            .filter(|token| token_status(token, now) == "Active")
            .count(),
        pool: licenses.auto_assigning().cloned(),
    }))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<NoFields>,
) -> PageResult<Redirect> {
    state
        .backend
        .delete_config(&posted.admin.scope(), &config_id)
        .await?;
    Ok(Redirect::to("/"))
}

#[derive(Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    valid_days: u32,
}

/// The only response that ever carries the secret: not cached, not redirected to (a reload
/// must not show it again).
fn shows_secret(markup: Markup) -> Response {
    let mut response = markup.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn generate_token(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<GenerateForm>,
) -> PageResult<Response> {
    let scope = posted.admin.scope();
    let config = state.backend.config(&scope, &config_id).await?;
    let issued = state
        .backend
        .issue_token(&scope, &config_id, posted.form.valid_days)
        .await?;
    new_token_response(
        &state,
        &posted.admin,
        config,
        issued.secret,
        issued.info,
        None,
    )
    .await
}

async fn new_token_response(
    state: &AppState,
    admin: &SignedIn,
    config: ScimConfig,
    secret: String,
    info: Option<TokenInfo>,
    previous: Option<TokenInfo>,
) -> PageResult<Response> {
    let name = tenant_name(state, admin).await?;
    let token = info.ok_or_else(|| AppError::Internal("issued token without its record".into()))?;
    Ok(shows_secret(views::new_token_page(&views::NewTokenPage {
        chrome: chrome(admin, &name, Nav::Overview),
        config,
        secret,
        token,
        previous,
    })))
}

#[derive(Deserialize)]
pub struct RotateForm {
    overlap_hours: u32,
}

pub async fn rotate_token(
    State(state): State<AppState>,
    Path((config_id, token_id)): Path<(String, String)>,
    posted: Posted<RotateForm>,
) -> PageResult<Response> {
    let scope = posted.admin.scope();
    let config = state.backend.config(&scope, &config_id).await?;
    let rotated = state
        .backend
        .rotate_token(&scope, &config_id, &token_id, posted.form.overlap_hours)
        .await?;
    let issued = rotated
        .issued
        .ok_or_else(|| AppError::Internal("rotation without a new token".into()))?;
    new_token_response(
        &state,
        &posted.admin,
        config,
        issued.secret,
        issued.info,
        rotated.previous,
    )
    .await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path((config_id, token_id)): Path<(String, String)>,
    posted: Posted<NoFields>,
) -> PageResult<Redirect> {
    state
        .backend
        .revoke_token(&posted.admin.scope(), &config_id, &token_id)
        .await?;
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice=revoked"
    )))
}

#[derive(Deserialize)]
pub struct AutoAssignForm {
    /// "on" or "off".
    enabled: String,
    #[serde(default)]
    offering: String,
}

pub async fn auto_assign(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<AutoAssignForm>,
) -> PageResult<Redirect> {
    let scope = posted.admin.scope();
    state.backend.config(&scope, &config_id).await?;
    let offering = match posted.form.enabled.as_str() {
        "on" => Some(
            views::parse_offering_value(&posted.form.offering).ok_or_else(|| {
                AppError::InvalidInput("choose an application instance and license type".into())
            })?,
        ),
        "off" => None,
        other => {
            return Err(AppError::InvalidInput(format!(
                "enabled must be on or off, not {other:?}"
            ))
            .into());
        }
    };
    state
        .backend
        .set_auto_assign(&scope, &config_id, offering)
        .await?;
    let notice = if offering.is_some() {
        "auto-assign-on"
    } else {
        "auto-assign-off"
    };
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice={notice}#licenses"
    )))
}

#[derive(Deserialize)]
pub struct AssignForm {
    pool_id: String,
    /// userName or user id.
    user: String,
}

pub async fn assign_seat(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<AssignForm>,
) -> PageResult<Redirect> {
    state
        .backend
        .assign_seat(
            &posted.admin.scope(),
            &posted.form.pool_id,
            &posted.form.user,
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice=seat-assigned#licenses"
    )))
}

#[derive(Deserialize)]
pub struct RevokeSeatForm {
    pool_id: String,
    user_id: String,
}

pub async fn revoke_seat(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    posted: Posted<RevokeSeatForm>,
) -> PageResult<Redirect> {
    state
        .backend
        .revoke_seat(
            &posted.admin.scope(),
            &posted.form.pool_id,
            &posted.form.user_id,
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/configs/{config_id}?notice=seat-revoked#licenses"
    )))
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, read as UTC) or RFC 3339, as RFC 3339;
/// empty stays empty.
pub fn log_time(field: &str, value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc).to_rfc3339());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|time| time.and_utc().to_rfc3339())
        .ok_or_else(|| {
            AppError::InvalidInput(format!(
                "{field} must be a date and time, e.g. 2026-12-02T17:00"
            ))
        })
}

/// The audit query a filter form asks for (tenant set by the backend).
pub fn log_query(filter: &LogFilterForm) -> Result<AuditQueryRequest, AppError> {
    Ok(AuditQueryRequest {
        from: log_time("from", &filter.from)?,
        to: log_time("to", &filter.to)?,
        target: filter.user.trim().to_owned(),
        operation: filter.operation.clone(),
        outcome: filter.outcome.clone(),
        page_token: filter.page.clone(),
        page_size: LOG_PAGE_SIZE,
        newest_first: true,
        ..AuditQueryRequest::default()
    })
}

/// Token id → prefix for every token of the tenant's configurations, so the log names
/// tokens as the tokens table does.
async fn token_prefixes(
    state: &AppState,
    scope: &Scope,
) -> Result<HashMap<String, String>, AppError> {
    let configs = state.backend.configs(scope).await?;
    let tokens = futures::future::try_join_all(
        configs
            .iter()
            .map(|config| state.backend.tokens(scope, &config.id)),
    )
    .await?;
    Ok(tokens
        .into_iter()
        .flatten()
        .map(|token| (token.id, token.prefix))
        .collect())
}

pub async fn log(
    State(state): State<AppState>,
    admin: SignedIn,
    Query(filter): Query<LogFilterForm>,
) -> PageResult {
    let scope = admin.scope();
    let query = log_query(&filter)?;
    let (name, page, prefixes) = futures::try_join!(
        tenant_name(&state, &admin),
        state.backend.log(&scope, query),
        token_prefixes(&state, &scope),
    )?;
    Ok(views::log_page(&views::LogPage {
        chrome: chrome(&admin, &name, Nav::Log),
        filter,
        records: page.records,
        next_page: page.next_page_token,
        token_prefixes: &prefixes,
    }))
}

pub async fn record(
    State(state): State<AppState>,
    admin: SignedIn,
    Path(sequence): Path<u64>,
) -> PageResult {
    let scope = admin.scope();
    let (name, record, prefixes) = futures::try_join!(
        tenant_name(&state, &admin),
        state.backend.log_record(&scope, sequence),
        token_prefixes(&state, &scope),
    )?;
    Ok(views::record_page(
        &chrome(&admin, &name, Nav::Log),
        &record,
        &prefixes,
    ))
}

/// The current filter as a download (`/log/export.csv`, `/log/export.jsonl`).
pub async fn export_log(
    state: AppState,
    admin: SignedIn,
    filter: LogFilterForm,
    format: Format,
) -> PageResult<Response> {
    let query = log_query(&LogFilterForm {
        page: String::new(),
        ..filter
    })?;
    Ok(export::export(
        state.backend.clone(),
        admin.scope(),
        query,
        format,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_accept_the_browsers_field_and_rfc3339() {
        assert_eq!(
            log_time("from", "2026-12-02T17:00").ok().as_deref(),
            Some("2026-12-02T17:00:00+00:00")
        );
        assert_eq!(
            log_time("from", "2026-12-02T18:00:00+01:00")
                .ok()
                .as_deref(),
            Some("2026-12-02T17:00:00+00:00")
        );
        assert_eq!(log_time("from", " ").ok().as_deref(), Some(""));
        assert!(matches!(
            log_time("from", "yesterday"),
            Err(AppError::InvalidInput(_))
        ));
    }

    #[test]
    fn token_status_follows_revocation_then_expiry() {
        let now = Utc::now();
        let token = |expires: DateTime<Utc>, revoked: &str| TokenInfo {
            expires_at: expires.to_rfc3339(),
            revoked_at: revoked.into(),
            ..TokenInfo::default()
        };
        assert_eq!(
            token_status(&token(now + chrono::Duration::hours(1), ""), now),
            "Active"
        );
        assert_eq!(
            token_status(&token(now - chrono::Duration::hours(1), ""), now),
            "Expired"
        );
        assert_eq!(
            token_status(
                &token(now + chrono::Duration::hours(1), "2026-01-01T00:00:00Z"),
                now
            ),
            "Revoked"
        );
    }

    #[test]
    fn notices_are_looked_up_never_reflected() {
        assert!(notice_text("revoked").is_some());
        assert_eq!(notice_text("<script>"), None);
    }
}
