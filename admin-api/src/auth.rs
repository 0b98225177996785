//! Who is calling: the bearer token resolved to the operator or to one tenant, as axum
//! extractors that reject with the API's errors.
//!
//! - [`Caller`]: any valid token (401 otherwise).
//! - [`Operator`]: the operator token; a tenant key gets 403.
//! - [`TenantAccess`]: the `{tenant}` path parameter names a tenant the caller may see and that
//!   exists; otherwise 404, the same answer for "not yours" and "does not exist", so tenant ids
//!   cannot be probed.
//!
//! The resolved caller is cached in the request's extensions, so stacking extractors looks the
//! key up once, and recorded on the request's tracing span.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use store::Tenant;

use crate::AdminState;
use crate::error::ApiError;
use crate::keys::{API_KEY_PREFIX, same_secret, sha256_hex};

/// A caller with a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The operator: sees and changes everything.
    Operator,
    /// A tenant API key: sees only this tenant.
    Tenant {
        /// The key's tenant.
        tenant_id: String,
        /// The key's id.
        key_id: String,
    },
}

impl Caller {
    /// True if the caller may see `tenant_id`'s resources.
    pub(crate) fn can_see(&self, tenant_id: Option<&str>) -> bool {
        match self {
            Caller::Operator => true,
            Caller::Tenant {
                tenant_id: mine, ..
            } => tenant_id == Some(mine.as_str()),
        }
    }

    /// The tenant a tenant key is limited to; `None` for the operator.
    pub(crate) fn tenant_limit(&self) -> Option<&str> {
        match self {
            Caller::Operator => None,
            Caller::Tenant { tenant_id, .. } => Some(tenant_id),
        }
    }

    /// Checks that a resource owned by `owner` is visible, answering 404 for `what`/`id` if not.
    pub(crate) fn check_owner(
        &self,
        owner: Option<&str>,
        what: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        if self.can_see(owner) {
            Ok(())
        } else {
            Err(ApiError::not_found(what, id))
        }
    }
}

impl FromRequestParts<AdminState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Caller, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer_token(parts)?;
        let caller = resolve(state, token).await?;
        let shown = match &caller {
            Caller::Operator => "operator".to_string(),
            Caller::Tenant { tenant_id, key_id } => format!("tenant:{tenant_id} key:{key_id}"),
        };
        tracing::Span::current().record("caller", shown.as_str());
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The operator, for operator-only routes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operator;

impl FromRequestParts<AdminState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Operator, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Operator => Ok(Operator),
            Caller::Tenant { .. } => Err(ApiError::operator_only()),
        }
    }
}

/// A tenant named by the `{tenant}` path parameter that the caller may see.
#[derive(Debug, Clone)]
pub(crate) struct TenantAccess {
    /// The tenant, as stored.
    pub(crate) tenant: Tenant,
}

impl FromRequestParts<AdminState> for TenantAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<TenantAccess, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid("tenant", e.body_text()))?;
        let Some(tenant_id) = params
            .iter()
            .find(|(name, _)| *name == "tenant")
            .map(|(_, value)| value.to_string())
        else {
            return Err(ApiError::internal(
                "TenantAccess used on a route without {tenant}",
            ));
        };
        if !caller.can_see(Some(&tenant_id)) {
            return Err(ApiError::not_found("tenant", &tenant_id));
        }
        let tenant = state
            .store
            .get_tenant(&tenant_id)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant", &tenant_id))?;
        Ok(TenantAccess { tenant })
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(token.trim())
}

/// Resolves a token to a caller.
async fn resolve(state: &AdminState, token: &str) -> Result<Caller, ApiError> {
    if !state.operator_token.is_empty() && same_secret(token, &state.operator_token) {
        return Ok(Caller::Operator);
    }
    if token.starts_with(API_KEY_PREFIX)
        && let Some(key) = state.store.find_api_key(&sha256_hex(token)).await?
    {
        return Ok(Caller::Tenant {
            tenant_id: key.tenant_id,
            key_id: key.id,
        });
    }
    Err(ApiError::unauthorized(
        "unknown or revoked token".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_see_only_their_tenant() {
        let key = Caller::Tenant {
            tenant_id: "a".into(),
            key_id: "k".into(),
        };
        assert!(key.can_see(Some("a")));
        assert!(!key.can_see(Some("b")));
        assert!(!key.can_see(None));
        assert!(Caller::Operator.can_see(None));
        assert_eq!(key.tenant_limit(), Some("a"));
        assert!(key.check_owner(Some("b"), "call", "c").is_err());
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        let parts = |value: &str| {
            let req = axum::http::Request::builder()
                .header(AUTHORIZATION, value)
                .body(())
                .expect("request");
            req.into_parts().0
        };
        assert_eq!(bearer_token(&parts("Bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer_token(&parts("bearer  abc ")).ok(), Some("abc"));
        assert!(bearer_token(&parts("Basic abc")).is_err());
        assert!(bearer_token(&parts("Bearer")).is_err());
        assert!(bearer_token(&parts("Bearer ")).is_err());
    }
}
