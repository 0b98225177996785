//! Carrier trunks (operator only): create, list, get, delete. The digest password is write-only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use store::NewTrunk;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AdminState;
use crate::auth::Operator;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{ListParams, Paged};
use crate::views::TrunkView;

/// A trunk to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTrunk {
    /// Unique name.
    name: String,
    /// Where to send requests: `host` or `host:port`.
    address: String,
    /// `udp` (default), `tcp`, `tls`, `ws` or `wss`.
    #[serde(default = "default_transport")]
    transport: String,
    /// Source networks accepted for inbound calls, e.g. `203.0.113.0/24`.
    #[serde(default)]
    inbound_cidrs: Vec<String>,
    /// Digest user name.
    #[serde(default)]
    username: Option<String>,
    /// Digest password (never shown back).
    #[serde(default)]
    password: Option<String>,
    /// Codec names in preference order, e.g. `["PCMU", "PCMA"]`.
    #[serde(default)]
    codecs: Vec<String>,
    /// Send REGISTER to the carrier (default false).
    #[serde(default)]
    register: bool,
}

fn default_transport() -> String {
    "udp".to_string()
}

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(create_trunk, list_trunks))
        .routes(routes!(get_trunk, delete_trunk))
}

/// Creates a trunk.
#[utoipa::path(post, path = "/v1/trunks", tag = "trunks", request_body = CreateTrunk,
    responses(
        (status = 201, description = "Created", body = TrunkView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    ))]
pub(crate) async fn create_trunk(
    State(state): State<AdminState>,
    _op: Operator,
    ApiJson(body): ApiJson<CreateTrunk>,
) -> ApiResult<(StatusCode, Json<TrunkView>)> {
    if body.register && body.username.is_none() {
        return Err(ApiError::invalid(
            "username",
            "is required when register is true",
        ));
    }
    let trunk = state
        .store
        .create_trunk(&NewTrunk {
            name: body.name,
            address: body.address,
            transport: body.transport,
            inbound_cidrs: body.inbound_cidrs,
            username: body.username,
            password: body.password,
            codecs: body.codecs,
            register: body.register,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(trunk.into())))
}

/// Lists trunks, oldest first.
#[utoipa::path(get, path = "/v1/trunks", tag = "trunks", params(ListParams),
    responses(
        (status = 200, description = "A page of trunks", body = Paged<TrunkView>),
        (status = 403, description = "Tenant key", body = ErrorBody),
    ))]
pub(crate) async fn list_trunks(
    State(state): State<AdminState>,
    _op: Operator,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<TrunkView>>> {
    let page = state.store.list_trunks_page(&params.page()?).await?;
    Ok(Json(Paged::from_page(page, TrunkView::from)))
}

/// One trunk.
#[utoipa::path(get, path = "/v1/trunks/{trunk_id}", tag = "trunks",
    params(("trunk_id" = String, Path, description = "Trunk id")),
    responses(
        (status = 200, description = "The trunk", body = TrunkView),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such trunk", body = ErrorBody),
    ))]
pub(crate) async fn get_trunk(
    State(state): State<AdminState>,
    _op: Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TrunkView>> {
    let trunk = state
        .store
        .get_trunk(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("trunk", &id))?;
    Ok(Json(trunk.into()))
}

/// Deletes a trunk; call records keep their history.
#[utoipa::path(delete, path = "/v1/trunks/{trunk_id}", tag = "trunks",
    params(("trunk_id" = String, Path, description = "Trunk id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Tenant key", body = ErrorBody),
        (status = 404, description = "No such trunk", body = ErrorBody),
    ))]
pub(crate) async fn delete_trunk(
    State(state): State<AdminState>,
    _op: Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_trunk(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
