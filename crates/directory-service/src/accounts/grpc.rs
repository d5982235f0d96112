//! The account center over gRPC for operators and the account center: tenants, SCIM
//! configurations and bearer tokens, every change recorded in the provisioning log as done by
//! the acting admin (`x-scim-actor`); the gateways follow those records to forget the cached
//! tokens of a configuration that changed.

use chrono::{DateTime, SecondsFormat, Utc};
use scim_rpc::account::account_admin_server::{AccountAdmin, AccountAdminServer};
use scim_rpc::account::{
    CreateScimConfigRequest, CreateTenantRequest, DeleteScimConfigRequest,
    DeleteScimConfigResponse, GetScimConfigRequest, GetTenantRequest, IssueTokenRequest,
    IssuedToken, ListScimConfigsRequest, ListScimConfigsResponse, ListTenantsRequest,
    ListTenantsResponse, ListTokensRequest, ListTokensResponse, RevokeConfigTokensRequest,
    RevokeConfigTokensResponse, RevokeTokenRequest, RotateTokenRequest, RotatedToken, ScimConfig,
    Tenant, TenantSummaryRequest, TenantSummaryResponse, TokenInfo, UpdateScimConfigRequest,
};
use scim_rpc::directory::AuthenticateResponse;
use service_kit::admin_auth::acting_admin;
use tonic::{Request, Response, Status};

use super::store::{
    AccountStore, AuthenticatedToken, ConfigChanges, ConfigRecord, TenantRecord, TenantSummary,
    TokenRecord,
};

/// gRPC front of the account center. Operator authentication is an
/// interceptor's job, not this service's. Gateways learn of revocations from the admin
/// actions each change records (the outbox puts them on the event stream), not from here.
pub struct AccountAdminService {
    store: AccountStore,
}

impl AccountAdminService {
    pub fn new(store: AccountStore) -> Self {
        Self { store }
    }

    pub fn into_server(self) -> AccountAdminServer<Self> {
        AccountAdminServer::new(self)
    }
}

#[tonic::async_trait]
impl AccountAdmin for AccountAdminService {
    async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<Tenant>, Status> {
        let request = request.into_inner();
        let tenant = self.store.create_tenant(&request.name).await?;
        Ok(Response::new(tenant.into()))
    }

    async fn list_tenants(
        &self,
        _request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        let tenants = self.store.list_tenants().await?;
        Ok(Response::new(ListTenantsResponse {
            tenants: tenants.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<Tenant>, Status> {
        let tenant = self
            .store
            .get_tenant(&request.into_inner().tenant_id)
            .await?;
        Ok(Response::new(tenant.into()))
    }

    async fn create_scim_config(
        &self,
        request: Request<CreateScimConfigRequest>,
    ) -> Result<Response<ScimConfig>, Status> {
        let admin = acting_admin(request.metadata());
        let request = request.into_inner();
        let config = self
            .store
            .create_config(
                &request.tenant_id,
                &request.name,
                &request.description,
                &admin,
            )
            .await?;
        Ok(Response::new(config.into()))
    }

    async fn list_scim_configs(
        &self,
        request: Request<ListScimConfigsRequest>,
    ) -> Result<Response<ListScimConfigsResponse>, Status> {
        let configs = self
            .store
            .list_configs(&request.into_inner().tenant_id)
            .await?;
        Ok(Response::new(ListScimConfigsResponse {
            configs: configs.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_scim_config(
        &self,
        request: Request<GetScimConfigRequest>,
    ) -> Result<Response<ScimConfig>, Status> {
        let config = self
            .store
            .get_config(&request.into_inner().config_id)
            .await?;
        Ok(Response::new(config.into()))
    }

    async fn update_scim_config(
        &self,
        request: Request<UpdateScimConfigRequest>,
    ) -> Result<Response<ScimConfig>, Status> {
        let admin = acting_admin(request.metadata());
        let request = request.into_inner();
        let changes = ConfigChanges {
            name: request.name,
            description: request.description,
            disabled: request.disabled,
        };
        let update = self
            .store
            .update_config(&request.config_id, &changes, &admin)
            .await?;
        Ok(Response::new(update.config.into()))
    }

    async fn delete_scim_config(
        &self,
        request: Request<DeleteScimConfigRequest>,
    ) -> Result<Response<DeleteScimConfigResponse>, Status> {
        let admin = acting_admin(request.metadata());
        let deletion = self
            .store
            .delete_config(&request.into_inner().config_id, &admin)
            .await?;
        Ok(Response::new(DeleteScimConfigResponse {
            tokens_revoked: deletion.tokens_revoked,
        }))
    }

    async fn issue_token(
        &self,
        request: Request<IssueTokenRequest>,
    ) -> Result<Response<IssuedToken>, Status> {
        let admin = acting_admin(request.metadata());
        let request = request.into_inner();
        let (record, secret) = self
            .store
            .issue_token(&request.config_id, request.valid_days, &admin)
            .await?;
        Ok(Response::new(IssuedToken {
            info: Some(record.into()),
            secret,
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<ListTokensRequest>,
    ) -> Result<Response<ListTokensResponse>, Status> {
        let tokens = self
            .store
            .list_tokens(&request.into_inner().config_id)
            .await?;
        Ok(Response::new(ListTokensResponse {
            tokens: tokens.into_iter().map(Into::into).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<RevokeTokenRequest>,
    ) -> Result<Response<TokenInfo>, Status> {
        let admin = acting_admin(request.metadata());
        let record = self
            .store
            .revoke_token(&request.into_inner().token_id, &admin)
            .await?;
        Ok(Response::new(record.into()))
    }

    async fn revoke_config_tokens(
        &self,
        request: Request<RevokeConfigTokensRequest>,
    ) -> Result<Response<RevokeConfigTokensResponse>, Status> {
        let admin = acting_admin(request.metadata());
        let revoked = self
            .store
            .revoke_config_tokens(&request.into_inner().config_id, &admin)
            .await?;
        Ok(Response::new(RevokeConfigTokensResponse {
            revoked: revoked.into_iter().map(Into::into).collect(),
        }))
    }

    async fn rotate_token(
        &self,
        request: Request<RotateTokenRequest>,
    ) -> Result<Response<RotatedToken>, Status> {
        let admin = acting_admin(request.metadata());
        let request = request.into_inner();
        let rotation = self
            .store
            .rotate_token(
                &request.token_id,
                request.overlap_hours,
                request.valid_days,
                &admin,
            )
            .await?;
        Ok(Response::new(RotatedToken {
            issued: Some(IssuedToken {
                info: Some(rotation.issued.into()),
                secret: rotation.secret,
            }),
            previous: Some(rotation.previous.into()),
        }))
    }

    async fn tenant_summary(
        &self,
        request: Request<TenantSummaryRequest>,
    ) -> Result<Response<TenantSummaryResponse>, Status> {
        let summary = self
            .store
            .tenant_summary(&request.into_inner().tenant_id)
            .await?;
        Ok(Response::new(summary.into()))
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// proto3 strings have no null; the API documents "" as "never".
fn optional_timestamp(at: Option<DateTime<Utc>>) -> String {
    at.map(timestamp).unwrap_or_default()
}

impl From<TenantRecord> for Tenant {
    fn from(record: TenantRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            created_at: timestamp(record.created_at),
        }
    }
}

impl From<ConfigRecord> for ScimConfig {
    fn from(record: ConfigRecord) -> Self {
        Self {
            id: record.id,
            tenant_id: record.tenant_id,
            name: record.name,
            created_at: timestamp(record.created_at),
            description: record.description,
            disabled_at: optional_timestamp(record.disabled_at),
        }
    }
}

impl From<TokenRecord> for TokenInfo {
    fn from(record: TokenRecord) -> Self {
        Self {
            id: record.id,
            config_id: record.config_id,
            tenant_id: record.tenant_id,
            created_at: timestamp(record.created_at),
            expires_at: timestamp(record.expires_at),
            last_used_at: optional_timestamp(record.last_used_at),
            revoked_at: optional_timestamp(record.revoked_at),
            prefix: record.prefix,
        }
    }
}

impl From<TenantSummary> for TenantSummaryResponse {
    fn from(summary: TenantSummary) -> Self {
        Self {
            users_active: summary.users_active,
            users_inactive: summary.users_inactive,
            groups: summary.groups,
        }
    }
}

/// For the directory service's `Authenticate` RPC.
impl From<AuthenticatedToken> for AuthenticateResponse {
    fn from(token: AuthenticatedToken) -> Self {
        Self {
            tenant_id: token.tenant_id,
            config_id: token.config_id,
            token_id: token.token_id,
            valid_for_ms: u64::try_from(token.valid_for.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use chrono::DateTime;
    use tonic::Code;

    use super::*;
    use crate::accounts::test_db::with_database;

    fn parse_time(value: &str) -> DateTime<chrono::FixedOffset> {
        DateTime::parse_from_rfc3339(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
    }

    #[tokio::test]
    async fn admin_flow_over_the_service() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let service = AccountAdminService::new(store.clone());

            let tenant = service
                .create_tenant(Request::new(CreateTenantRequest {
                    name: "Acme".into(),
                }))
                .await
                .unwrap()
                .into_inner();
            parse_time(&tenant.created_at);
            assert!(tenant.created_at.ends_with('Z'));

            let config = service
                .create_scim_config(Request::new(CreateScimConfigRequest {
                    tenant_id: tenant.id.clone(),
                    name: "Okta".into(),
                    description: "Production Okta org".into(),
                }))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(config.tenant_id, tenant.id);
            assert_eq!(config.description, "Production Okta org");
            assert_eq!(config.disabled_at, "", "enabled when created");

            let issued = service
                .issue_token(Request::new(IssueTokenRequest {
                    config_id: config.id.clone(),
                    valid_days: 0,
                }))
                .await
                .unwrap()
                .into_inner();
            let info = issued.info.unwrap();
            assert_eq!(info.last_used_at, "");
            assert_eq!(info.revoked_at, "");
            assert_eq!(
                parse_time(&info.expires_at) - parse_time(&info.created_at),
                chrono::Duration::days(730)
            );
            assert!(issued.secret.starts_with(&info.prefix));

            let authenticated: AuthenticateResponse =
                store.authenticate(&issued.secret).await.unwrap().into();
            // Issued with the two-year default: valid for nearly all of it.
            let two_years_ms = 730 * 24 * 3600 * 1000;
            assert!(
                (two_years_ms - 60_000..=two_years_ms).contains(&authenticated.valid_for_ms),
                "{}",
                authenticated.valid_for_ms
            );
            assert_eq!(
                authenticated,
                AuthenticateResponse {
                    tenant_id: tenant.id.clone(),
                    config_id: config.id.clone(),
                    token_id: info.id.clone(),
                    valid_for_ms: authenticated.valid_for_ms,
                }
            );

            let revoked = service
                .revoke_token(Request::new(RevokeTokenRequest {
                    token_id: info.id.clone(),
                }))
                .await
                .unwrap()
                .into_inner();
            parse_time(&revoked.revoked_at);
            parse_time(&revoked.last_used_at);

            let listed = service
                .list_tokens(Request::new(ListTokensRequest {
                    config_id: config.id.clone(),
                }))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(listed.tokens, vec![revoked]);

            let tenants = service
                .list_tenants(Request::new(ListTenantsRequest {}))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(tenants.tenants, vec![tenant.clone()]);
            let configs = service
                .list_scim_configs(Request::new(ListScimConfigsRequest {
                    tenant_id: tenant.id,
                }))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(configs.configs, vec![config]);
        })
        .await;
    }

    fn code<T>(result: Result<Response<T>, Status>) -> Code {
        result.map(drop).unwrap_err().code()
    }

    #[tokio::test]
    async fn errors_map_to_grpc_codes() {
        with_database(|pool| async move {
            let service = AccountAdminService::new(AccountStore::new(pool));
            service
                .create_tenant(Request::new(CreateTenantRequest {
                    name: "Acme".into(),
                }))
                .await
                .unwrap();

            assert_eq!(
                code(
                    service
                        .create_tenant(Request::new(CreateTenantRequest {
                            name: "Acme".into()
                        }))
                        .await
                ),
                Code::AlreadyExists
            );
            assert_eq!(
                code(
                    service
                        .create_tenant(Request::new(CreateTenantRequest {
                            name: String::new()
                        }))
                        .await
                ),
                Code::InvalidArgument
            );
            assert_eq!(
                code(
                    service
                        .issue_token(Request::new(IssueTokenRequest {
                            config_id: "nope".into(),
                            valid_days: 0,
                        }))
                        .await
                ),
                Code::NotFound
            );
            assert_eq!(
                code(
                    service
                        .list_scim_configs(Request::new(ListScimConfigsRequest {
                            tenant_id: String::new(),
                        }))
                        .await
                ),
                Code::InvalidArgument
            );
        })
        .await;
    }
}
