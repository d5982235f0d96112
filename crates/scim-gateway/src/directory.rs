//! Typed client for the directory's read API, with trace propagation.

use scim_rpc::directory::directory_read_client::DirectoryReadClient;
use scim_rpc::directory::{
    AuthenticateRequest, AwaitAppliedRequest, ExistingUserIdsRequest, GetResourceRequest,
    ListResourcesRequest, ResourceKind,
};
use serde_json::Value;
use telemetry::propagation::TracePropagation;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub config_id: String,
    pub token_id: String,
}

#[derive(Debug, Clone)]
pub struct FetchedResource {
    pub id: String,
    pub version: u64,
    pub json: Value,
}

/// Which group members a single read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    Exclude,
    All,
    /// All of them if there are at most this many, otherwise none.
    AtMost(u32),
}

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: String,
    pub start_index: u64,
    pub count: u64,
    pub sort_by: String,
    pub descending: bool,
    pub exclude_members: bool,
}

#[derive(Clone)]
pub struct DirectoryClient {
    client: DirectoryReadClient<InterceptedService<Channel, TracePropagation>>,
}

impl DirectoryClient {
    /// `urls` is one directory URL, or several separated by commas to balance over them
    /// (a replica that goes away is left out until it answers again).
    pub fn connect_lazy(urls: &str) -> Result<Self, tonic::transport::Error> {
        let endpoints = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| {
                tonic::transport::Endpoint::from_shared(url.to_owned())
                    .map(|endpoint| endpoint.tcp_nodelay(true))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let channel = match endpoints.as_slice() {
            [one] => one.connect_lazy(),
            _ => Channel::balance_list(endpoints.into_iter()),
        };
        Ok(Self {
            client: DirectoryReadClient::with_interceptor(channel, TracePropagation),
        })
    }

    /// The token's tenant and how much longer the token is valid.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<(TenantContext, std::time::Duration), ApiError> {
        let response = self
            .client
            .clone()
            .authenticate(AuthenticateRequest {
                token: token.to_owned(),
            })
            .await?
            .into_inner();
        Ok((
            TenantContext {
                tenant_id: response.tenant_id,
                config_id: response.config_id,
                token_id: response.token_id,
            },
            std::time::Duration::from_millis(response.valid_for_ms),
        ))
    }

    pub async fn get(
        &self,
        tenant: &TenantContext,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> Result<FetchedResource, ApiError> {
        let resource = self
            .client
            .clone()
            .get_resource(GetResourceRequest {
                tenant_id: tenant.tenant_id.clone(),
                kind: kind as i32,
                id: id.to_owned(),
                exclude_members: members == Members::Exclude,
                max_members: match members {
                    Members::AtMost(max) => max.max(1),
                    Members::Exclude | Members::All => 0,
                },
            })
            .await?
            .into_inner();
        decode(resource)
    }

    pub async fn list(
        &self,
        tenant: &TenantContext,
        kind: ResourceKind,
        params: ListParams,
    ) -> Result<(u64, Vec<FetchedResource>), ApiError> {
        let response = self
            .client
            .clone()
            .list_resources(ListResourcesRequest {
                tenant_id: tenant.tenant_id.clone(),
                kind: kind as i32,
                filter: params.filter,
                start_index: params.start_index,
                count: params.count,
                sort_by: params.sort_by,
                sort_descending: params.descending,
                exclude_members: params.exclude_members,
            })
            .await?
            .into_inner();
        let resources = response
            .resources
            .into_iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok((response.total_results, resources))
    }

    /// Blocks until the directory shows everything up to `sequence`.
    pub async fn await_applied(&self, sequence: u64, timeout_ms: u32) -> Result<(), ApiError> {
        self.client
            .clone()
            .await_applied(AwaitAppliedRequest {
                sequence,
                timeout_ms,
            })
            .await
            .map_err(|status| match status.code() {
                tonic::Code::DeadlineExceeded => ApiError::Unavailable(
                    "the change is stored but not yet visible; retry the read shortly".into(),
                ),
                _ => ApiError::from(status),
            })?;
        Ok(())
    }

    pub async fn existing_user_ids(
        &self,
        tenant: &TenantContext,
        ids: Vec<String>,
    ) -> Result<Vec<String>, ApiError> {
        if ids.is_empty() {
            return Ok(ids);
        }
        Ok(self
            .client
            .clone()
            .existing_user_ids(ExistingUserIdsRequest {
                tenant_id: tenant.tenant_id.clone(),
                ids,
            })
            .await?
            .into_inner()
            .ids)
    }
}

fn decode(resource: scim_rpc::directory::Resource) -> Result<FetchedResource, ApiError> {
    let json = serde_json::from_str(&resource.json).map_err(ApiError::internal)?;
    Ok(FetchedResource {
        id: resource.id,
        version: resource.version,
        json,
    })
}
