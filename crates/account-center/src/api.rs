//! The admin HTTP API: everything the console does, as JSON, under the console's sessions
//! (with the `X-CSRF-Token` header on every change) or the operator's bearer credential.
//! Described by `openapi.json`, served at `/api/v1/openapi.json`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_rpc::account::{ScimConfig, TokenInfo, UpdateScimConfigRequest};
use scim_rpc::audit::AuditQueryRequest;
use scim_rpc::license::{Offering, Pool};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::export::{self, Format, record_json};
use crate::pages::{self, log_time, token_status};
use crate::session::ApiCaller;
use crate::state::AppState;

type ApiResult = Result<Response, AppError>;

pub const OPENAPI: &str = include_str!("openapi.json");

pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// Routes that are not part of the API answer as the API does, not with an empty 404.
pub async fn no_such_route() -> AppError {
    AppError::NotFound("no such API route".into())
}

fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

pub fn config_json(config: &ScimConfig, scim_base_url: &str) -> Value {
    json!({
        "id": config.id,
        "tenant_id": config.tenant_id,
        "name": config.name,
        "description": config.description,
        "created_at": config.created_at,
        "enabled": config.disabled_at.is_empty(),
        "disabled_at": non_empty(&config.disabled_at),
        "scim_base_url": scim_base_url,
    })
}

fn token_json(token: &TokenInfo) -> Value {
    json!({
        "id": token.id,
        "config_id": token.config_id,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": non_empty(&token.last_used_at),
        "revoked_at": non_empty(&token.revoked_at),
        "status": token_status(token, chrono::Utc::now()).to_ascii_lowercase(),
    })
}

fn pool_json(pool: &Pool) -> Value {
    json!({
        "id": pool.id,
        "config_id": pool.config_id,
        "application_instance": pool.application_instance,
        "license_type": pool.license_type,
        "seats": pool.seats,
        "seats_used": pool.seats_used,
        "auto_assign": pool.auto_assign,
        "exhausted": pool.seats_used >= pool.seats,
    })
}

fn offering_json(offering: &Offering) -> Value {
    json!({
        "application_instance": offering.application_instance,
        "license_type": offering.license_type,
        "seats": offering.seats,
        "config_id": non_empty(&offering.config_id),
    })
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

#[derive(Deserialize)]
pub struct InviteRequest {
    tenant_id: String,
    email: Option<String>,
}

pub async fn create_invite(
    State(state): State<AppState>,
    caller: ApiCaller,
    Json(request): Json<InviteRequest>,
) -> ApiResult {
    caller.require_operator()?;
    let (url, invitation) = pages::invite(
        &state,
        &request.tenant_id,
        request.email.as_deref(),
        service_kit::admin_auth::OPERATOR_ACTOR,
    )
    .await?;
    created(json!({
        "url": url,
        "tenant_id": invitation.tenant_id,
        "email": invitation.email,
        "expires_at": invitation.expires_at.to_rfc3339(),
    }))
}

/// The signed-in admin and the CSRF token API calls under this session must send.
pub async fn session(caller: ApiCaller) -> ApiResult {
    match caller {
        ApiCaller::Admin(admin) => ok(json!({
            "admin_id": admin.session.admin.id,
            "email": admin.session.admin.email,
            "tenant_id": admin.session.admin.tenant_id,
            "csrf_token": admin.session.csrf_token,
        })),
        ApiCaller::Operator(operator) => ok(json!({ "operator": true, "actor": operator.actor() })),
    }
}

pub async fn overview(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let backend = &state.backend;
    let (tenant, summary, configs, pools) = futures::try_join!(
        backend.tenant(&scope.tenant_id),
        backend.summary(&scope),
        backend.configs(&scope),
        backend.pools(&scope),
    )?;
    let configs: Vec<Value> = configs
        .iter()
        .map(|config| {
            let mut value = config_json(config, &state.settings.scim_base_url);
            value["pool"] = pools
                .iter()
                .find(|pool| pool.config_id == config.id && pool.auto_assign)
                .map_or(Value::Null, pool_json);
            value
        })
        .collect();
    ok(json!({
        "tenant": { "id": tenant.id, "name": tenant.name },
        "users_active": summary.users_active,
        "users_inactive": summary.users_inactive,
        "groups": summary.groups,
        "licensed_users": pools.iter().map(|pool| u64::from(pool.seats_used)).sum::<u64>(),
        "configs": configs,
    }))
}

pub async fn list_configs(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let configs = state.backend.configs(&scope).await?;
    ok(json!({
        "configs": configs.iter().map(|config| config_json(config, &state.settings.scim_base_url)).collect::<Vec<_>>()
    }))
}

#[derive(Deserialize)]
pub struct NewConfig {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create_config(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
    Json(request): Json<NewConfig>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let config = state
        .backend
        .create_config(&scope, &request.name, &request.description)
        .await?;
    created(config_json(&config, &state.settings.scim_base_url))
}

pub async fn get_config(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let config = state.backend.config(&scope, &config_id).await?;
    ok(config_json(&config, &state.settings.scim_base_url))
}

#[derive(Deserialize)]
pub struct ConfigChange {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

pub async fn update_config(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
    Json(change): Json<ConfigChange>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let config = state
        .backend
        .update_config(
            &scope,
            &config_id,
            UpdateScimConfigRequest {
                name: change.name,
                description: change.description,
                disabled: change.enabled.map(|enabled| !enabled),
                ..UpdateScimConfigRequest::default()
            },
        )
        .await?;
    ok(config_json(&config, &state.settings.scim_base_url))
}

pub async fn delete_config(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let revoked = state.backend.delete_config(&scope, &config_id).await?;
    ok(json!({ "deleted": true, "tokens_revoked": revoked }))
}

pub async fn list_tokens(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let tokens = state.backend.tokens(&scope, &config_id).await?;
    ok(json!({ "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() }))
}

#[derive(Deserialize, Default)]
pub struct NewToken {
    #[serde(default)]
    valid_days: u32,
}

pub async fn issue_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
    Json(request): Json<NewToken>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let issued = state
        .backend
        .issue_token(&scope, &config_id, request.valid_days)
        .await?;
    let token = issued.info.as_ref().map_or(Value::Null, token_json);
    created(json!({ "token": token, "secret": issued.secret }))
}

#[derive(Deserialize)]
pub struct Rotation {
    overlap_hours: u32,
}

pub async fn rotate_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id, token_id)): Path<(String, String, String)>,
    Json(request): Json<Rotation>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let rotated = state
        .backend
        .rotate_token(&scope, &config_id, &token_id, request.overlap_hours)
        .await?;
    let issued = rotated.issued.unwrap_or_default();
    created(json!({
        "token": issued.info.as_ref().map_or(Value::Null, token_json),
        "secret": issued.secret,
        "previous": rotated.previous.as_ref().map_or(Value::Null, token_json),
    }))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id, token_id)): Path<(String, String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let token = state
        .backend
        .revoke_token(&scope, &config_id, &token_id)
        .await?;
    ok(token_json(&token))
}

pub async fn revoke_all_tokens(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let revoked = state.backend.revoke_all_tokens(&scope, &config_id).await?;
    ok(json!({ "revoked": revoked.iter().map(token_json).collect::<Vec<_>>() }))
}

pub async fn licenses(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    state.backend.config(&scope, &config_id).await?;
    let section = pages::license_section(&state, &scope, &config_id).await?;
    ok(json!({
        "auto_assign": section.pool.is_some(),
        "pool": section.pool.as_ref().map_or(Value::Null, pool_json),
        "offerings": section.offerings.iter().map(offering_json).collect::<Vec<_>>(),
        "holders_total": section.holders_total,
        "waiting_total": section.waiting_total,
        "holders": section.holders.iter().map(|(holder, name)| json!({
            "user_id": holder.user_id, "user_name": name,
            "assigned_at": holder.assigned_at, "source": holder.source,
        })).collect::<Vec<_>>(),
        "waiting": section.waiting.iter().map(|(waiting, name)| json!({
            "user_id": waiting.user_id, "user_name": name,
            "waiting_since": waiting.waiting_since, "position": waiting.position,
        })).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize)]
pub struct AutoAssign {
    enabled: bool,
    #[serde(default)]
    application_instance: String,
    #[serde(default)]
    license_type: String,
}

pub async fn set_auto_assign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, config_id)): Path<(String, String)>,
    Json(request): Json<AutoAssign>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    state.backend.config(&scope, &config_id).await?;
    let offering = request.enabled.then_some((
        request.application_instance.as_str(),
        request.license_type.as_str(),
    ));
    let pool = state
        .backend
        .set_auto_assign(&scope, &config_id, offering)
        .await?;
    ok(
        json!({ "auto_assign": request.enabled, "pool": pool.as_ref().map_or(Value::Null, pool_json) }),
    )
}

#[derive(Deserialize)]
pub struct SeatRequest {
    /// A userName or a user id.
    user: String,
}

pub async fn assign_seat(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, pool_id)): Path<(String, String)>,
    Json(request): Json<SeatRequest>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let user_id = state
        .backend
        .assign_seat(&scope, &pool_id, &request.user)
        .await?;
    created(json!({ "pool_id": pool_id, "user_id": user_id }))
}

pub async fn revoke_seat(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, pool_id, user_id)): Path<(String, String, String)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let revoked = state
        .backend
        .revoke_seat(&scope, &pool_id, &user_id)
        .await?;
    ok(json!({ "revoked": revoked }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LogParams {
    from: String,
    to: String,
    user: String,
    operation: String,
    outcome: String,
    correlation_id: String,
    page_size: u32,
    page_token: String,
}

impl LogParams {
    fn query(&self) -> Result<AuditQueryRequest, AppError> {
        Ok(AuditQueryRequest {
            from: log_time("from", &self.from)?,
            to: log_time("to", &self.to)?,
            target: self.user.trim().to_owned(),
            operation: self.operation.clone(),
            outcome: self.outcome.clone(),
            correlation_id: self.correlation_id.clone(),
            page_size: self.page_size,
            page_token: self.page_token.clone(),
            newest_first: true,
            ..AuditQueryRequest::default()
        })
    }
}

pub async fn log(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
    Query(params): Query<LogParams>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let page = state.backend.log(&scope, params.query()?).await?;
    ok(json!({
        "records": page.records.iter().map(|record| record_json(record, Value::Null)).collect::<Vec<_>>(),
        "next_page_token": non_empty(&page.next_page_token),
    }))
}

pub async fn log_record(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((tenant, sequence)): Path<(String, u64)>,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let record = state.backend.log_record(&scope, sequence).await?;
    let event = serde_json::from_str(&record.event_json).unwrap_or(Value::Null);
    ok(record_json(&record, event))
}

/// The current filter as a download (`…/log/export.csv`, `…/log/export.jsonl`).
pub async fn export_log(
    state: AppState,
    caller: ApiCaller,
    tenant: String,
    params: LogParams,
    format: Format,
) -> ApiResult {
    let scope = caller.scope(&tenant)?;
    let query = AuditQueryRequest {
        page_token: String::new(),
        ..params.query()?
    };
    Ok(export::export(state.backend.clone(), scope, query, format))
}
