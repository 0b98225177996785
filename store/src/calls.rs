//! Call records: one row per call, written when it starts ringing, updated when it is answered,
//! on each billing tick, and when it ends or is refused.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::Store;
use crate::error::{StoreError, map_insert_error};
use crate::rows::{decode_text_enum, text_enum};

text_enum! {
    /// Who started the call.
    Direction {
        /// A carrier sent us the INVITE.
        Inbound => "inbound",
        /// We sent the INVITE.
        Outbound => "outbound",
    }
}

text_enum! {
    /// Where a call is in its life.
    CallState {
        /// Set up but not answered.
        Ringing => "ringing",
        /// Answered; billing runs.
        Live => "live",
        /// Hung up after being answered or while ringing.
        Ended => "ended",
        /// Rejected before answering (unknown number, no credit, tenant paused, …).
        Refused => "refused",
    }
}

/// What is known when a call starts; it is stored in state `ringing`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewCall {
    /// Id chosen by the caller (a uuid v7 string), so the row can be written asynchronously.
    pub id: String,
    /// The billed tenant, once the number was resolved.
    pub tenant_id: Option<String>,
    /// The answering agent, once the number was resolved.
    pub agent_id: Option<String>,
    /// The trunk the call came in on or goes out through.
    pub trunk_id: Option<String>,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The SIP Call-ID header.
    pub sip_call_id: String,
    /// The From URI.
    pub from_uri: String,
    /// The To URI.
    pub to_uri: String,
    /// Unix milliseconds when the INVITE arrived or was sent.
    pub started_at: i64,
    /// The switch node handling the call.
    pub node: Option<String>,
    /// The call this leg was placed for, e.g. the caller's call a transfer bridged it to.
    pub parent_call_id: Option<String>,
}

/// How a call ended, for [`Store::finish_call`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallEnd {
    /// `Ended` or `Refused`; anything else is rejected.
    pub state: CallState,
    /// Unix milliseconds.
    pub ended_at: i64,
    /// SIP status or reason, e.g. `"BYE"`, `"487"`, `"insufficient_credit"`.
    pub hangup_cause: Option<String>,
    /// Who hung up: e.g. `"caller"`, `"agent"`, `"system"`.
    pub hangup_by: Option<String>,
    /// Media statistics as JSON text.
    pub media: Option<String>,
}

/// A stored call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    /// Uuid v7 string.
    pub id: String,
    /// The billed tenant, if resolved.
    pub tenant_id: Option<String>,
    /// The answering agent, if resolved.
    pub agent_id: Option<String>,
    /// The trunk used, if known.
    pub trunk_id: Option<String>,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The SIP Call-ID header.
    pub sip_call_id: String,
    /// The From URI.
    pub from_uri: String,
    /// The To URI.
    pub to_uri: String,
    /// Where the call is in its life.
    pub state: CallState,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Unix milliseconds, once answered.
    pub answered_at: Option<i64>,
    /// Unix milliseconds, once ended or refused.
    pub ended_at: Option<i64>,
    /// Unix milliseconds of the latest billing tick.
    pub last_tick_at: Option<i64>,
    /// Seconds billed so far.
    pub billed_secs: i64,
    /// Charged so far, in micro-units.
    pub cost_micros: i64,
    /// Why the call ended.
    pub hangup_cause: Option<String>,
    /// Who hung up.
    pub hangup_by: Option<String>,
    /// Media statistics as JSON text.
    pub media: Option<String>,
    /// The switch node that handled the call.
    pub node: Option<String>,
    /// The call this leg was placed for, e.g. the caller's call a transfer bridged it to.
    pub parent_call_id: Option<String>,
    /// What the call's providers cost the operator: the sum of its cost lines.
    pub ai_cost_micros: i64,
}

impl CallRecord {
    /// Decodes a row selected with the call columns.
    pub(crate) fn from_row(row: &AnyRow) -> Result<CallRecord, sqlx::Error> {
        Ok(CallRecord {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            agent_id: row.try_get("agent_id")?,
            trunk_id: row.try_get("trunk_id")?,
            direction: decode_text_enum(row, "direction", Direction::parse)?,
            sip_call_id: row.try_get("sip_call_id")?,
            from_uri: row.try_get("from_uri")?,
            to_uri: row.try_get("to_uri")?,
            state: decode_text_enum(row, "state", CallState::parse)?,
            started_at: row.try_get("started_at")?,
            answered_at: row.try_get("answered_at")?,
            ended_at: row.try_get("ended_at")?,
            last_tick_at: row.try_get("last_tick_at")?,
            billed_secs: row.try_get("billed_secs")?,
            cost_micros: row.try_get("cost_micros")?,
            hangup_cause: row.try_get("hangup_cause")?,
            hangup_by: row.try_get("hangup_by")?,
            media: row.try_get("media")?,
            node: row.try_get("node")?,
            parent_call_id: row.try_get("parent_call_id")?,
            ai_cost_micros: row.try_get("ai_cost_micros")?,
        })
    }
}

/// The columns of a call record, with its provider costs summed, as a literal for `concat!`
/// (the call search builds on it too).
macro_rules! call_columns {
    () => {
        "SELECT id, tenant_id, agent_id, trunk_id, direction, sip_call_id, from_uri, to_uri, \
         state, started_at, answered_at, ended_at, last_tick_at, billed_secs, cost_micros, \
         hangup_cause, hangup_by, media, node, parent_call_id, \
         CAST((SELECT COALESCE(SUM(l.cost_micros), 0) FROM call_cost_lines l \
         WHERE l.call_id = call_records.id) AS BIGINT) AS ai_cost_micros FROM call_records"
    };
}
pub(crate) use call_columns;

impl Store {
    /// Stores a new call in state `ringing`. An id used before is a `Conflict`; an unknown
    /// tenant, agent or trunk is `NotFound`.
    pub async fn insert_call(&self, c: &NewCall) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_call_row(&mut conn, c).await
    }

    /// Moves a ringing call to `live`, answered at `at_ms`. `NotFound` if there is no such
    /// call, `Conflict` if it is not ringing.
    pub async fn mark_answered(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE call_records SET state = $1, answered_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(CallState::Live.as_str())
        .bind(at_ms)
        .bind(id)
        .bind(CallState::Ringing.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.explain_not_updated(id, "is not ringing").await)
        }
    }

    /// Ends a ringing or live call with `end.state` (`ended` or `refused`), hang-up details
    /// and media JSON. Billed seconds and cost stay as the meter's charges wrote them (see
    /// [`Store::charge_call`]), so they always equal the call's ledger entries. `Conflict` if the call already finished.
    pub async fn finish_call(&self, id: &str, end: &CallEnd) -> Result<(), StoreError> {
        if !matches!(end.state, CallState::Ended | CallState::Refused) {
            return Err(StoreError::invalid(
                "state",
                format!("a call finishes as ended or refused, not {}", end.state),
            ));
        }
        let done = sqlx::query(
            "UPDATE call_records SET state = $1, ended_at = $2, hangup_cause = $3, \
             hangup_by = $4, media = $5 WHERE id = $6 AND state IN ($7, $8)",
        )
        .bind(end.state.as_str())
        .bind(end.ended_at)
        .bind(end.hangup_cause.as_deref())
        .bind(end.hangup_by.as_deref())
        .bind(end.media.as_deref())
        .bind(id)
        .bind(CallState::Ringing.as_str())
        .bind(CallState::Live.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.explain_not_updated(id, "already finished").await)
        }
    }

    /// The call with this id, if any.
    pub async fn get_call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let row = sqlx::query(concat!(call_columns!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| CallRecord::from_row(&r)).transpose()?)
    }

    /// Up to `limit` calls, newest first, of one tenant or of all tenants.
    pub async fn list_calls(
        &self,
        tenant_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CallRecord>, StoreError> {
        if limit < 0 {
            return Err(StoreError::invalid("limit", "must not be negative"));
        }
        let rows = match tenant_id {
            Some(tenant_id) => {
                sqlx::query(concat!(
                    call_columns!(),
                    " WHERE tenant_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2"
                ))
                .bind(tenant_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    call_columns!(),
                    " ORDER BY started_at DESC, id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .iter()
            .map(CallRecord::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Why an update by id touched no row: the call is missing, or in the wrong state.
    async fn explain_not_updated(&self, id: &str, wrong_state: &str) -> StoreError {
        match self.get_call(id).await {
            Ok(Some(call)) => StoreError::Conflict {
                what: format!("call {id} {wrong_state} (state {})", call.state),
            },
            Ok(None) => StoreError::not_found("call", id),
            Err(e) => e,
        }
    }
}

/// Inserts a call in state `ringing` on `conn` (a pooled connection or an open transaction).
pub(crate) async fn insert_call_row(
    conn: &mut sqlx::AnyConnection,
    c: &NewCall,
) -> Result<(), StoreError> {
    if c.id.trim().is_empty() {
        return Err(StoreError::invalid("id", "must not be empty"));
    }
    sqlx::query(
        "INSERT INTO call_records (id, tenant_id, agent_id, trunk_id, direction, sip_call_id, \
         from_uri, to_uri, state, started_at, billed_secs, cost_micros, node, parent_call_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11, $12)",
    )
    .bind(&c.id)
    .bind(c.tenant_id.as_deref())
    .bind(c.agent_id.as_deref())
    .bind(c.trunk_id.as_deref())
    .bind(c.direction.as_str())
    .bind(&c.sip_call_id)
    .bind(&c.from_uri)
    .bind(&c.to_uri)
    .bind(CallState::Ringing.as_str())
    .bind(c.started_at)
    .bind(c.node.as_deref())
    .bind(c.parent_call_id.as_deref())
    .execute(conn)
    .await
    .map_err(|e| {
        map_insert_error(
            e,
            || format!("call {} already exists", c.id),
            ("tenant, agent or trunk of call", &c.id),
        )
    })?;
    Ok(())
}
