//! `scim.audit.v1.AuditQuery`.

use prometheus_client::metrics::counter::Counter;
use scim_rpc::audit::audit_query_server::AuditQuery;
use scim_rpc::audit::{
    AuditQueryRequest, AuditQueryResponse, AuditRecord, FailureRateRequest, FailureRateResponse,
    GetRecordRequest, VerifyRequest, VerifyResponse,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::failure_rate::{self, FailureRateQuery};
use crate::query::{self, Filter, RecordKey};
use crate::verify;

pub struct AuditQueryService {
    db: PgPool,
    queries: Counter,
}

impl AuditQueryService {
    pub fn new(db: PgPool, queries: Counter) -> Self {
        Self { db, queries }
    }
}

#[tonic::async_trait]
impl AuditQuery for AuditQueryService {
    async fn query(
        &self,
        request: Request<AuditQueryRequest>,
    ) -> Result<Response<AuditQueryResponse>, Status> {
        self.queries.inc();
        let filter = Filter::parse(request.get_ref())?;
        Ok(Response::new(query::run(&self.db, &filter).await?))
    }

    async fn failure_rate(
        &self,
        request: Request<FailureRateRequest>,
    ) -> Result<Response<FailureRateResponse>, Status> {
        self.queries.inc();
        let query = FailureRateQuery::parse(request.get_ref(), chrono::Utc::now())?;
        Ok(Response::new(failure_rate::run(&self.db, &query).await?))
    }

    async fn get_record(
        &self,
        request: Request<GetRecordRequest>,
    ) -> Result<Response<AuditRecord>, Status> {
        self.queries.inc();
        let key = RecordKey::parse(request.get_ref())?;
        Ok(Response::new(query::get(&self.db, key).await?))
    }

    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        self.queries.inc();
        let tenant_id = verify::tenant(request.get_ref())?;
        Ok(Response::new(verify::run(&self.db, &tenant_id).await?))
    }
}
