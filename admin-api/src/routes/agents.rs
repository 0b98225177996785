//! Agents: create, list, get, replace, delete. The body is flat: `name` plus the agent spec
//! (`greeting`, `answer_after_ms`, `brain`, `stt`, `tts`), checked by `agent_spec` before it is
//! stored. Deleting an agent that numbers still route to is a 409.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use store::Agent;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::agent_spec::AgentSpecDoc;
use crate::auth::TenantAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{ListParams, Paged};
use crate::time_fmt::rfc3339;

/// Longest agent name.
const MAX_NAME: usize = 200;

/// The body of create and replace: a name and the spec's fields.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the request body in the OpenAPI document only.
pub(crate) struct AgentBody {
    /// Display name.
    name: String,
    #[schema(inline)]
    #[serde(flatten)]
    spec: AgentSpecDoc,
}

/// An agent as shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentView {
    id: String,
    tenant_id: String,
    name: String,
    created_at: String,
    /// The spec's fields (as stored, if they no longer validate).
    #[serde(flatten)]
    spec: StoredSpec,
}

/// A stored spec: valid, or raw JSON if it does not match the schema (written by older code).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum StoredSpec {
    /// It matches the schema.
    Valid(Box<AgentSpecDoc>),
    /// It does not.
    #[schema(value_type = Object)]
    Raw(serde_json::Map<String, serde_json::Value>),
}

impl From<Agent> for AgentView {
    fn from(a: Agent) -> AgentView {
        let spec = match serde_json::from_str::<AgentSpecDoc>(&a.spec) {
            Ok(spec) => StoredSpec::Valid(Box::new(spec)),
            Err(_) => StoredSpec::Raw(serde_json::from_str(&a.spec).unwrap_or_default()),
        };
        AgentView {
            id: a.id,
            tenant_id: a.tenant_id,
            name: a.name,
            created_at: rfc3339(a.created_at),
            spec,
        }
    }
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent, list_agents))
        .routes(routes!(get_agent, replace_agent, delete_agent))
}

/// Splits a body into a checked name and spec.
fn parse_body(body: serde_json::Value) -> ApiResult<(String, AgentSpecDoc)> {
    let serde_json::Value::Object(mut fields) = body else {
        return Err(ApiError::invalid("", "the body must be a JSON object"));
    };
    let name = match fields.remove("name") {
        Some(serde_json::Value::String(name)) => name,
        Some(_) => return Err(ApiError::invalid("name", "must be a string")),
        None => return Err(ApiError::invalid("name", "missing field `name`")),
    };
    if name.trim().is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    let spec = AgentSpecDoc::parse(serde_json::Value::Object(fields))?;
    Ok((name, spec))
}

/// Creates an agent.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/agents", tag = "agents",
    request_body = AgentBody,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 201, description = "Created", body = AgentView),
        (status = 400, description = "Invalid field (named)", body = ErrorBody),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn create_agent(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let (name, spec) = parse_body(body)?;
    let agent = state
        .store
        .create_agent(&access.tenant.id, &name, &spec.to_json()?)
        .await?;
    Ok((StatusCode::CREATED, Json(agent.into())))
}

/// Lists the tenant's agents, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents", tag = "agents",
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses(
        (status = 200, description = "A page of agents", body = Paged<AgentView>),
        (status = 404, description = "No such tenant, or another tenant's", body = ErrorBody),
    ))]
pub(crate) async fn list_agents(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<AgentView>>> {
    let page = state
        .store
        .list_agents_page(&access.tenant.id, &params.page()?)
        .await?;
    Ok(Json(Paged::from_page(page, AgentView::from)))
}

/// One agent.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents/{agent_id}", tag = "agents",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("agent_id" = String, Path, description = "Agent id"),
    ),
    responses(
        (status = 200, description = "The agent", body = AgentView),
        (status = 404, description = "No such agent for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn get_agent(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<AgentView>> {
    let agent = state
        .store
        .get_agent(&id)
        .await?
        .filter(|a| a.tenant_id == access.tenant.id)
        .ok_or_else(|| ApiError::not_found("agent", &id))?;
    Ok(Json(agent.into()))
}

/// Replaces an agent's name and spec. Calls already running keep the old spec.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/agents/{agent_id}", tag = "agents",
    request_body = AgentBody,
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("agent_id" = String, Path, description = "Agent id"),
    ),
    responses(
        (status = 200, description = "The agent as replaced", body = AgentView),
        (status = 400, description = "Invalid field (named)", body = ErrorBody),
        (status = 404, description = "No such agent for this tenant", body = ErrorBody),
    ))]
pub(crate) async fn replace_agent(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<AgentView>> {
    let (name, spec) = parse_body(body)?;
    let agent = state
        .store
        .update_agent(&access.tenant.id, &id, &name, &spec.to_json()?)
        .await?;
    Ok(Json(agent.into()))
}

/// Deletes an agent no number routes to.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/agents/{agent_id}", tag = "agents",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("agent_id" = String, Path, description = "Agent id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such agent for this tenant", body = ErrorBody),
        (status = 409, description = "Numbers still route to it", body = ErrorBody),
    ))]
pub(crate) async fn delete_agent(
    State(state): State<AdminState>,
    access: TenantAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_agent(&access.tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
