//! The services behind the console, over gRPC, always inside one tenant.
//!
//! The admin services answer the account center (known by its certificate) for any
//! tenant, so the tenant boundary for an admin is drawn here: every id a caller names
//! (configuration, token, pool, log record) is checked to belong to the caller's tenant
//! before it is used, and an id of another tenant is "not found", exactly like an id that
//! does not exist.

use std::collections::HashMap;

use scim_rpc::account::account_admin_client::AccountAdminClient;
use scim_rpc::account::{
    CreateScimConfigRequest, DeleteScimConfigRequest, GetScimConfigRequest, GetTenantRequest,
    IssueTokenRequest, IssuedToken, ListScimConfigsRequest, ListTokensRequest,
    RevokeConfigTokensRequest, RevokeTokenRequest, RotateTokenRequest, RotatedToken, ScimConfig,
    Tenant, TenantSummaryRequest, TenantSummaryResponse, TokenInfo, UpdateScimConfigRequest,
};
use scim_rpc::audit::audit_query_client::AuditQueryClient;
use scim_rpc::audit::{AuditQueryRequest, AuditQueryResponse, AuditRecord, GetRecordRequest};
use scim_rpc::directory::directory_read_client::DirectoryReadClient;
use scim_rpc::directory::{GetResourceRequest, ListResourcesRequest, ResourceKind};
use scim_rpc::license::license_admin_client::LicenseAdminClient;
use scim_rpc::license::{
    AssignLicenseRequest, ListOfferingsRequest, ListPoolMembersRequest, ListPoolMembersResponse,
    ListPoolsRequest, Offering, Pool, RevokeLicenseRequest, SetAutoAssignRequest,
};
use service_kit::admin_auth::name_actor;
use service_kit::grpc_tls::GrpcTls;
use tonic::transport::Channel;

use crate::error::AppError;

/// Where the services are.
#[derive(Debug, Clone)]
pub struct BackendUrls {
    pub directory: String,
    pub license: String,
    pub audit: String,
}

/// One tenant, and who acts in it (for the provisioning log).
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant_id: String,
    /// `admin:<id>:<email>` or `operator`.
    pub actor: String,
}

#[derive(Clone)]
pub struct Backend {
    account: AccountAdminClient<Channel>,
    license: LicenseAdminClient<Channel>,
    audit: AuditQueryClient<Channel>,
    directory: DirectoryReadClient<Channel>,
}

/// A configuration's pool that auto-assigns (if any) and the rest, for one page.
#[derive(Debug, Clone, Default)]
pub struct ConfigLicenses {
    pub pools: Vec<Pool>,
    pub offerings: Vec<Offering>,
}

impl ConfigLicenses {
    pub fn auto_assigning(&self) -> Option<&Pool> {
        self.pools.iter().find(|pool| pool.auto_assign)
    }
}

impl Backend {
    /// Connects lazily: the console starts (and says what is missing) before every service
    /// is up.
    /// The console calls as itself: its certificate (`tls`) is its credential.
    pub fn connect_lazy(urls: &BackendUrls, tls: &GrpcTls) -> Result<Self, AppError> {
        // A comma-separated list (as the gateway takes for the directory) is balanced over.
        let channel = |name: &str, urls: &str| {
            let endpoints = service_kit::grpc_tls::url_list(urls)
                .map(|url| {
                    tls.endpoint(url)
                        .map_err(|error| AppError::Internal(format!("{name} URL: {error}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            match endpoints.as_slice() {
                [] => Err(AppError::Internal(format!("no {name} URL given"))),
                [one] => Ok(one.connect_lazy()),
                _ => Ok(Channel::balance_list(endpoints.into_iter())),
            }
        };
        let directory = channel("directory", &urls.directory)?;
        Ok(Self {
            account: AccountAdminClient::new(directory.clone()),
            license: LicenseAdminClient::new(channel("license", &urls.license)?),
            audit: AuditQueryClient::new(channel("audit", &urls.audit)?),
            directory: DirectoryReadClient::new(directory),
        })
    }

    pub async fn tenant(&self, tenant_id: &str) -> Result<Tenant, AppError> {
        let request = GetTenantRequest {
            tenant_id: tenant_id.to_owned(),
        };
        Ok(self.account.clone().get_tenant(request).await?.into_inner())
    }

    pub async fn summary(&self, scope: &Scope) -> Result<TenantSummaryResponse, AppError> {
        let request = TenantSummaryRequest {
            tenant_id: scope.tenant_id.clone(),
        };
        Ok(self
            .account
            .clone()
            .tenant_summary(request)
            .await?
            .into_inner())
    }

    pub async fn configs(&self, scope: &Scope) -> Result<Vec<ScimConfig>, AppError> {
        let request = ListScimConfigsRequest {
            tenant_id: scope.tenant_id.clone(),
        };
        Ok(self
            .account
            .clone()
            .list_scim_configs(request)
            .await?
            .into_inner()
            .configs)
    }

    /// One of the tenant's configurations; another tenant's is not found.
    pub async fn config(&self, scope: &Scope, config_id: &str) -> Result<ScimConfig, AppError> {
        let request = GetScimConfigRequest {
            config_id: config_id.to_owned(),
        };
        let config = self
            .account
            .clone()
            .get_scim_config(request)
            .await
            .map_err(AppError::from)?
            .into_inner();
        if config.tenant_id != scope.tenant_id {
            return Err(config_not_found(config_id));
        }
        Ok(config)
    }

    pub async fn create_config(
        &self,
        scope: &Scope,
        name: &str,
        description: &str,
    ) -> Result<ScimConfig, AppError> {
        let request = acting(
            scope,
            CreateScimConfigRequest {
                tenant_id: scope.tenant_id.clone(),
                name: name.to_owned(),
                description: plain_newlines(description),
            },
        )?;
        Ok(self
            .account
            .clone()
            .create_scim_config(request)
            .await?
            .into_inner())
    }

    pub async fn update_config(
        &self,
        scope: &Scope,
        config_id: &str,
        change: UpdateScimConfigRequest,
    ) -> Result<ScimConfig, AppError> {
        self.config(scope, config_id).await?;
        let request = acting(
            scope,
            UpdateScimConfigRequest {
                config_id: config_id.to_owned(),
                description: change.description.as_deref().map(plain_newlines),
                ..change
            },
        )?;
        Ok(self
            .account
            .clone()
            .update_scim_config(request)
            .await?
            .into_inner())
    }

    /// The number of tokens revoked with it.
    pub async fn delete_config(&self, scope: &Scope, config_id: &str) -> Result<u32, AppError> {
        self.config(scope, config_id).await?;
        // Seats already given stay, but the deleted configuration's pools must stop taking
        // new users: auto-assign goes off first, so a failure leaves the configuration intact.
        self.set_auto_assign(scope, config_id, None).await?;
        let request = acting(
            scope,
            DeleteScimConfigRequest {
                config_id: config_id.to_owned(),
            },
        )?;
        Ok(self
            .account
            .clone()
            .delete_scim_config(request)
            .await?
            .into_inner()
            .tokens_revoked)
    }

    pub async fn tokens(&self, scope: &Scope, config_id: &str) -> Result<Vec<TokenInfo>, AppError> {
        self.config(scope, config_id).await?;
        let request = ListTokensRequest {
            config_id: config_id.to_owned(),
        };
        Ok(self
            .account
            .clone()
            .list_tokens(request)
            .await?
            .into_inner()
            .tokens)
    }

    pub async fn issue_token(
        &self,
        scope: &Scope,
        config_id: &str,
        valid_days: u32,
    ) -> Result<IssuedToken, AppError> {
        self.config(scope, config_id).await?;
        let request = acting(
            scope,
            IssueTokenRequest {
                config_id: config_id.to_owned(),
                valid_days,
            },
        )?;
        Ok(self
            .account
            .clone()
            .issue_token(request)
            .await?
            .into_inner())
    }

    /// A token of the tenant's configuration; any other is not found.
    async fn token(
        &self,
        scope: &Scope,
        config_id: &str,
        token_id: &str,
    ) -> Result<TokenInfo, AppError> {
        self.tokens(scope, config_id)
            .await?
            .into_iter()
            .find(|token| token.id == token_id)
            .ok_or_else(|| AppError::NotFound(format!("token {token_id} not found")))
    }

    pub async fn rotate_token(
        &self,
        scope: &Scope,
        config_id: &str,
        token_id: &str,
        overlap_hours: u32,
    ) -> Result<RotatedToken, AppError> {
        self.token(scope, config_id, token_id).await?;
        let request = acting(
            scope,
            RotateTokenRequest {
                token_id: token_id.to_owned(),
                overlap_hours,
                valid_days: 0,
            },
        )?;
        Ok(self
            .account
            .clone()
            .rotate_token(request)
            .await?
            .into_inner())
    }

    pub async fn revoke_token(
        &self,
        scope: &Scope,
        config_id: &str,
        token_id: &str,
    ) -> Result<TokenInfo, AppError> {
        self.token(scope, config_id, token_id).await?;
        let request = acting(
            scope,
            RevokeTokenRequest {
                token_id: token_id.to_owned(),
            },
        )?;
        Ok(self
            .account
            .clone()
            .revoke_token(request)
            .await?
            .into_inner())
    }

    /// Revokes every token of the configuration that is not revoked yet, in one call (an
    /// admin who fears a token leaked need not find which); returns the tokens it revoked.
    pub async fn revoke_all_tokens(
        &self,
        scope: &Scope,
        config_id: &str,
    ) -> Result<Vec<TokenInfo>, AppError> {
        self.config(scope, config_id).await?;
        let request = acting(
            scope,
            RevokeConfigTokensRequest {
                config_id: config_id.to_owned(),
            },
        )?;
        Ok(self
            .account
            .clone()
            .revoke_config_tokens(request)
            .await?
            .into_inner()
            .revoked)
    }

    /// The configuration's pools and what the vendor offers the tenant.
    pub async fn licenses(
        &self,
        scope: &Scope,
        config_id: &str,
    ) -> Result<ConfigLicenses, AppError> {
        let pools = self.pools(scope).await?;
        let offerings = self
            .license
            .clone()
            .list_offerings(ListOfferingsRequest {
                tenant_id: scope.tenant_id.clone(),
            })
            .await?
            .into_inner()
            .offerings;
        Ok(ConfigLicenses {
            pools: pools
                .into_iter()
                .filter(|pool| pool.config_id == config_id)
                .collect(),
            offerings,
        })
    }

    pub async fn pools(&self, scope: &Scope) -> Result<Vec<Pool>, AppError> {
        Ok(self
            .license
            .clone()
            .list_pools(ListPoolsRequest {
                tenant_id: scope.tenant_id.clone(),
            })
            .await?
            .into_inner()
            .pools)
    }

    /// `Some((application instance, license type))` turns auto-assign on for that offering;
    /// `None` turns it off.
    pub async fn set_auto_assign(
        &self,
        scope: &Scope,
        config_id: &str,
        offering: Option<(&str, &str)>,
    ) -> Result<Option<Pool>, AppError> {
        let (application_instance, license_type) = offering.unwrap_or_default();
        let request = acting(
            scope,
            SetAutoAssignRequest {
                tenant_id: scope.tenant_id.clone(),
                config_id: config_id.to_owned(),
                enabled: offering.is_some(),
                application_instance: application_instance.to_owned(),
                license_type: license_type.to_owned(),
            },
        )?;
        Ok(self
            .license
            .clone()
            .set_auto_assign(request)
            .await?
            .into_inner()
            .pool)
    }

    /// One of the tenant's pools; another tenant's is not found.
    pub async fn pool(&self, scope: &Scope, pool_id: &str) -> Result<Pool, AppError> {
        self.pools(scope)
            .await?
            .into_iter()
            .find(|pool| pool.id == pool_id)
            .ok_or_else(|| AppError::NotFound(format!("license pool {pool_id} not found")))
    }

    pub async fn pool_members(
        &self,
        scope: &Scope,
        pool_id: &str,
        page_token: &str,
    ) -> Result<ListPoolMembersResponse, AppError> {
        self.pool(scope, pool_id).await?;
        Ok(self
            .license
            .clone()
            .list_pool_members(ListPoolMembersRequest {
                pool_id: pool_id.to_owned(),
                page_size: 0,
                page_token: page_token.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Assigns a seat to the user named by `user`: a userName, else a user id. Returns the
    /// user's id.
    pub async fn assign_seat(
        &self,
        scope: &Scope,
        pool_id: &str,
        user: &str,
    ) -> Result<String, AppError> {
        self.pool(scope, pool_id).await?;
        let user = user.trim();
        let user_id = match self.user_id_by_name(scope, user).await? {
            Some(id) => id,
            None => user.to_owned(),
        };
        let user_id = user_id.as_str();
        self.user_name(scope, user_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {user_id} not found")))?;
        let request = acting(
            scope,
            AssignLicenseRequest {
                pool_id: pool_id.to_owned(),
                user_id: user_id.to_owned(),
            },
        )?;
        self.license.clone().assign_license(request).await?;
        Ok(user_id.to_owned())
    }

    pub async fn revoke_seat(
        &self,
        scope: &Scope,
        pool_id: &str,
        user_id: &str,
    ) -> Result<bool, AppError> {
        self.pool(scope, pool_id).await?;
        let request = acting(
            scope,
            RevokeLicenseRequest {
                pool_id: pool_id.to_owned(),
                user_id: user_id.to_owned(),
            },
        )?;
        Ok(self
            .license
            .clone()
            .revoke_license(request)
            .await?
            .into_inner()
            .revoked)
    }

    /// The userName of one of the tenant's users; `None` when there is no such user.
    pub async fn user_name(
        &self,
        scope: &Scope,
        user_id: &str,
    ) -> Result<Option<String>, AppError> {
        let request = GetResourceRequest {
            tenant_id: scope.tenant_id.clone(),
            kind: ResourceKind::User.into(),
            id: user_id.to_owned(),
            exclude_members: true,
            max_members: 0,
        };
        match self.directory.clone().get_resource(request).await {
            Ok(resource) => Ok(user_name_of(&resource.into_inner().json)),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// userNames of the given users (those that still exist), looked up concurrently.
    pub async fn user_names(
        &self,
        scope: &Scope,
        user_ids: impl IntoIterator<Item = &str>,
    ) -> Result<HashMap<String, String>, AppError> {
        let lookups = user_ids.into_iter().map(|id| async move {
            self.user_name(scope, id)
                .await
                .map(|name| name.map(|name| (id.to_owned(), name)))
        });
        let names = futures::future::try_join_all(lookups).await?;
        Ok(names.into_iter().flatten().collect())
    }

    /// The id of the tenant's user with this userName.
    pub async fn user_id_by_name(
        &self,
        scope: &Scope,
        user_name: &str,
    ) -> Result<Option<String>, AppError> {
        let quoted = serde_json::to_string(user_name)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let request = ListResourcesRequest {
            tenant_id: scope.tenant_id.clone(),
            kind: ResourceKind::User.into(),
            filter: format!("userName eq {quoted}"),
            start_index: 1,
            count: 1,
            exclude_members: true,
            ..ListResourcesRequest::default()
        };
        let listed = self
            .directory
            .clone()
            .list_resources(request)
            .await?
            .into_inner();
        Ok(listed.resources.into_iter().next().map(|user| user.id))
    }

    pub async fn log(
        &self,
        scope: &Scope,
        query: AuditQueryRequest,
    ) -> Result<AuditQueryResponse, AppError> {
        let request = AuditQueryRequest {
            tenant_id: scope.tenant_id.clone(),
            ..query
        };
        Ok(self.audit.clone().query(request).await?.into_inner())
    }

    pub async fn log_record(&self, scope: &Scope, sequence: u64) -> Result<AuditRecord, AppError> {
        let request = GetRecordRequest {
            tenant_id: scope.tenant_id.clone(),
            sequence,
        };
        Ok(self.audit.clone().get_record(request).await?.into_inner())
    }
}

/// A request that names the person acting, for the provisioning log.
fn acting<T>(scope: &Scope, message: T) -> Result<tonic::Request<T>, AppError> {
    let mut request = tonic::Request::new(message);
    name_actor(&mut request, &scope.actor)
        .map_err(|error| AppError::Internal(format!("actor {:?}: {error}", scope.actor)))?;
    Ok(request)
}

/// Browsers send a textarea's line breaks as CRLF; the directory stores plain newlines
/// (and refuses other control characters).
fn plain_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn config_not_found(config_id: &str) -> AppError {
    AppError::NotFound(format!("configuration {config_id} not found"))
}

fn user_name_of(json: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()?
        .get("userName")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textarea_line_breaks_become_newlines() {
        assert_eq!(
            plain_newlines("EU org\r\nprovisioning"),
            "EU org\nprovisioning"
        );
    }

    #[test]
    fn user_names_come_from_the_resource_json() {
        assert_eq!(
            user_name_of(r#"{"id":"u1","userName":"ada@example.com"}"#).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(user_name_of(r#"{"id":"u1"}"#), None);
        assert_eq!(user_name_of("not json"), None);
    }
}
