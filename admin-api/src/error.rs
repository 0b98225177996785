//! The API's error type and its JSON shape: `{"error": {"code", "message", "field"?}}` with a
//! fitting status, plus the mapping from storage errors.
//!
//! Internal failures are logged with their detail and answered with a generic message, so
//! database errors never leak to clients.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::StoreError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong.
    pub(crate) error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_request`, `not_found`.
    pub(crate) code: &'static str,
    /// Human-readable explanation.
    pub(crate) message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400: `field` is wrong because of `problem`.
    pub(crate) fn invalid(field: impl Into<String>, problem: impl std::fmt::Display) -> ApiError {
        let field = field.into();
        let message = if field.is_empty() {
            problem.to_string()
        } else {
            format!("{field}: {problem}")
        };
        ApiError {
            field: (!field.is_empty()).then_some(field),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    /// 401.
    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the route is for the operator only.
    pub(crate) fn operator_only() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this route needs the operator token",
        )
    }

    /// 404.
    pub(crate) fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id:?} not found"),
        )
    }

    /// 404 for a path no route serves.
    pub(crate) fn no_route() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 405.
    pub(crate) fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    }

    /// 409.
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 415.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 422: understood, but the switch cannot do it.
    pub(crate) fn unsupported(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unsupported", message)
    }

    /// Any status with its own code: a refusal the caller can act on (402, 403, 429, 503).
    pub(crate) fn refused(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::new(status, code, message)
    }

    /// 502: the switch failed to carry out a call command.
    pub(crate) fn call_control_failed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_GATEWAY, "call_control_failed", message)
    }

    /// 500; `detail` is logged, not shown.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the switch log for this request id",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound { what, id } => ApiError::not_found(what, &id),
            StoreError::Conflict { what } => ApiError::conflict("conflict", what),
            StoreError::Invalid { field, problem } => ApiError::invalid(field, problem),
            StoreError::Query(sqlx_err @ sqlx::Error::PoolTimedOut)
            | StoreError::Query(sqlx_err @ sqlx::Error::PoolClosed) => {
                tracing::warn!(error = %sqlx_err, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is not answering; retry later",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// What handlers return.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_statuses() {
        let e: ApiError = StoreError::Invalid {
            field: "name",
            problem: "must not be empty".into(),
        }
        .into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field.as_deref(), Some("name"));
        assert_eq!(e.message, "name: must not be empty");
        let e: ApiError = StoreError::Conflict { what: "dup".into() }.into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = StoreError::NotFound {
            what: "agent",
            id: "x".into(),
        }
        .into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e: ApiError = StoreError::Query(sqlx::Error::PoolTimedOut).into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let e: ApiError = StoreError::Query(sqlx::Error::RowNotFound).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("RowNotFound"));
    }
}
