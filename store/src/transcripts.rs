//! Transcripts: the turns of a call's conversation, numbered 1, 2, 3… per call.
//!
//! The next number is computed inside the INSERT (`MAX(seq) + 1`), and `UNIQUE (call_id, seq)`
//! guards it. Each append first takes the call row's lock with a no-op UPDATE in the same
//! transaction (portable, unlike `SELECT … FOR UPDATE`), so concurrent appends to one call run
//! one after the other on PostgreSQL; SQLite serialises writers anyway.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id};
use crate::error::StoreError;
use crate::rows::{decode_text_enum, flag, flag_value, text_enum};

text_enum! {
    /// Who spoke a turn.
    Speaker {
        /// The person who called (or was called).
        Caller => "caller",
        /// The voice agent.
        Agent => "agent",
    }
}

/// A turn to append.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewTurn {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said (recognised or synthesised text).
    pub text: String,
    /// DTMF digits pressed during the turn.
    pub dtmf: Option<String>,
    /// Unix milliseconds when the turn started.
    pub at: i64,
    /// True if the caller barged in over this (agent) turn.
    pub interrupted: bool,
    /// Latency measurements as JSON text.
    pub latency: Option<String>,
}

/// A stored turn.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TranscriptTurn {
    /// Uuid v7 string.
    pub id: String,
    /// The call.
    pub call_id: String,
    /// Position in the call, from 1.
    pub seq: i32,
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// DTMF digits pressed during the turn.
    pub dtmf: Option<String>,
    /// Unix milliseconds when the turn started.
    pub at: i64,
    /// True if the caller barged in over this turn.
    pub interrupted: bool,
    /// Latency measurements as JSON text.
    pub latency: Option<String>,
}

impl TranscriptTurn {
    fn from_row(row: &AnyRow) -> Result<TranscriptTurn, sqlx::Error> {
        Ok(TranscriptTurn {
            id: row.try_get("id")?,
            call_id: row.try_get("call_id")?,
            seq: row.try_get("seq")?,
            speaker: decode_text_enum(row, "speaker", Speaker::parse)?,
            text: row.try_get("text")?,
            dtmf: row.try_get("dtmf")?,
            at: row.try_get("at")?,
            interrupted: flag(row, "interrupted")?,
            latency: row.try_get("latency")?,
        })
    }
}

impl Store {
    /// Appends a turn to the call's transcript with the next sequence number (1 for the first).
    /// `NotFound` if the call does not exist.
    pub async fn append_turn(
        &self,
        call_id: &str,
        t: &NewTurn,
    ) -> Result<TranscriptTurn, StoreError> {
        let mut tx = self.begin_write().await?;
        // Lock the call row for the rest of the transaction: appends to one call queue here,
        // and on PostgreSQL the INSERT below then sees every turn committed before it.
        let locked = sqlx::query("UPDATE call_records SET state = state WHERE id = $1")
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::not_found("call", call_id));
        }
        let id = new_id();
        let seq: i32 = sqlx::query_scalar(
            "INSERT INTO transcript_turns \
             (id, call_id, seq, speaker, text, dtmf, at, interrupted, latency) \
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8 \
             FROM transcript_turns WHERE call_id = $2 \
             RETURNING seq",
        )
        .bind(&id)
        .bind(call_id)
        .bind(t.speaker.as_str())
        .bind(&t.text)
        .bind(t.dtmf.as_deref())
        .bind(t.at)
        .bind(flag_value(t.interrupted))
        .bind(t.latency.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TranscriptTurn {
            id,
            call_id: call_id.to_string(),
            seq,
            speaker: t.speaker,
            text: t.text.clone(),
            dtmf: t.dtmf.clone(),
            at: t.at,
            interrupted: t.interrupted,
            latency: t.latency.clone(),
        })
    }

    /// The call's transcript in sequence order.
    pub async fn transcript(&self, call_id: &str) -> Result<Vec<TranscriptTurn>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, call_id, seq, speaker, text, dtmf, at, interrupted, latency \
             FROM transcript_turns WHERE call_id = $1 ORDER BY seq",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(TranscriptTurn::from_row)
            .collect::<Result<_, _>>()?)
    }
}
