//! The console's routes: pages, the JSON API, static assets, and the headers every
//! response carries.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::{self, LogParams};
use crate::error::{AppError, PageError};
use crate::export::Format;
use crate::pages;
use crate::session::{ApiCaller, SignedIn};
use crate::state::AppState;
use crate::views::LogFilterForm;

const STYLESHEET: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// Scripts and styles only from the console itself, no framing, no inline script: a value
/// that slipped past escaping still could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::overview))
        .route("/signin/{secret}", get(pages::sign_in_prompt))
        .route("/signin", post(pages::sign_in))
        .route("/signed-out", get(pages::signed_out))
        .route("/signout", post(pages::sign_out))
        .route("/configs/new", get(pages::new_config))
        .route("/configs", post(pages::create_config))
        .route("/configs/{config}", get(pages::config))
        .route("/configs/{config}/settings", post(pages::update_settings))
        .route("/configs/{config}/disable", post(pages::disable))
        .route("/configs/{config}/enable", post(pages::enable))
        .route(
            "/configs/{config}/delete",
            get(pages::delete_confirmation).post(pages::delete),
        )
        .route("/configs/{config}/tokens", post(pages::generate_token))
        .route(
            "/configs/{config}/tokens/{token}/rotate",
            post(pages::rotate_token),
        )
        .route(
            "/configs/{config}/tokens/{token}/revoke",
            post(pages::revoke_token),
        )
        .route(
            "/configs/{config}/tokens/revoke-all",
            post(pages::revoke_all_tokens),
        )
        .route("/configs/{config}/auto-assign", post(pages::auto_assign))
        .route("/configs/{config}/seats/assign", post(pages::assign_seat))
        .route("/configs/{config}/seats/revoke", post(pages::revoke_seat))
        .route("/log", get(pages::log))
        .route("/log/export.csv", get(page_export_csv))
        .route("/log/export.jsonl", get(page_export_jsonl))
        .route("/log/{sequence}", get(pages::record))
        .route(
            "/assets/style.css",
            get(|| asset("text/css; charset=utf-8", STYLESHEET)),
        )
        .route(
            "/assets/app.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        );

    let tenant_api = Router::new()
        .route("/overview", get(api::overview))
        .route("/configs", get(api::list_configs).post(api::create_config))
        .route(
            "/configs/{config}",
            get(api::get_config)
                .patch(api::update_config)
                .delete(api::delete_config),
        )
        .route(
            "/configs/{config}/tokens",
            get(api::list_tokens).post(api::issue_token),
        )
        .route(
            "/configs/{config}/tokens/{token}/rotate",
            post(api::rotate_token),
        )
        .route(
            "/configs/{config}/tokens/{token}/revoke",
            post(api::revoke_token),
        )
        .route(
            "/configs/{config}/tokens/revoke-all",
            post(api::revoke_all_tokens),
        )
        .route("/configs/{config}/licenses", get(api::licenses))
        .route(
            "/configs/{config}/auto-assign",
            axum::routing::put(api::set_auto_assign),
        )
        .route("/pools/{pool}/seats", post(api::assign_seat))
        .route(
            "/pools/{pool}/seats/{user}",
            axum::routing::delete(api::revoke_seat),
        )
        .route("/log", get(api::log))
        .route("/log/export.csv", get(api_export_csv))
        .route("/log/export.jsonl", get(api_export_jsonl))
        .route("/log/{sequence}", get(api::log_record));

    let api = Router::new()
        .route("/openapi.json", get(api::openapi))
        .route("/session", get(api::session))
        .route("/invites", post(api::create_invite))
        .nest("/tenants/{tenant}", tenant_api)
        .fallback(api::no_such_route);

    pages
        .nest("/api/v1", api)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            // Sign-in links carry their secret in the path: never send it elsewhere.
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], body)
}

async fn page_export_csv(
    State(state): State<AppState>,
    admin: SignedIn,
    Query(filter): Query<LogFilterForm>,
) -> Result<Response, PageError> {
    pages::export_log(state, admin, filter, Format::Csv).await
}

async fn page_export_jsonl(
    State(state): State<AppState>,
    admin: SignedIn,
    Query(filter): Query<LogFilterForm>,
) -> Result<Response, PageError> {
    pages::export_log(state, admin, filter, Format::JsonLines).await
}

async fn api_export_csv(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Response, AppError> {
    api::export_log(state, caller, tenant, params, Format::Csv).await
}

async fn api_export_jsonl(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(tenant): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Response, AppError> {
    api::export_log(state, caller, tenant, params, Format::JsonLines).await
}
