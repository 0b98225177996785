//! Billing writes that must agree with each other: charging a call's meter ticks, settling a
//! call at its end, and closing the calls a crashed node left open. (Admission, which takes the
//! first tick, is in `admission`.)
//!
//! Each charge is one transaction that (1) takes the amount from the wallet only if the balance
//! covers it, (2) writes the ledger entry under the idempotency key `call:<id>:tick:<n>`, and
//! (3) moves the call record's `billed_secs`, `cost_micros` and `last_tick_at`. So the call
//! record always equals the sum of the call's ledger entries, a replayed tick charges nothing,
//! and after a crash the record already says what was reserved.

use sqlx::AnyConnection;

use crate::calls::{CallRecord, CallState};
use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, is_unique_violation};
use crate::wallet::{LedgerEntry, LedgerKind, find_by_key, insert_entry, wallet_balance};

/// One meter tick: reserve call time by charging the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCharge {
    /// The tenant whose wallet pays.
    pub tenant_id: String,
    /// The call.
    pub call_id: String,
    /// 0, 1, 2…: makes the idempotency key.
    pub tick: u32,
    /// Amount (> 0) in micro-units.
    pub amount_micros: i64,
    /// Seconds reserved in total once this tick is paid.
    pub billed_secs_after: i64,
    /// Unix milliseconds of the tick.
    pub at_ms: i64,
}

/// A threshold a wallet crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// 75 % of the last top-up is used.
    Used75,
    /// 90 % of the last top-up is used.
    Used90,
    /// The balance reached zero, or cannot pay for the next increment of a call.
    Empty,
}

/// An event for the tenant: its wallet crossed a threshold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalletAlert {
    /// The tenant.
    pub tenant_id: String,
    /// Which threshold.
    pub kind: AlertKind,
    /// Balance right after the change.
    pub balance_micros: i64,
    /// The last top-up the percentages refer to.
    pub last_topup_micros: i64,
}

/// The result of [`Store::charge_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Charged; the thresholds this charge crossed come along.
    Charged {
        /// The new ledger entry.
        entry: LedgerEntry,
        /// Thresholds crossed by this charge.
        alerts: Vec<WalletAlert>,
    },
    /// This tick was charged before (a retry); nothing changed.
    AlreadyCharged(LedgerEntry),
    /// The balance does not cover the amount; nothing changed.
    Insufficient {
        /// The balance at the time.
        balance_micros: i64,
        /// The `Empty` alert.
        alert: WalletAlert,
    },
}

/// The end of a call's billing: the final billed seconds and the unused reservation refunded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSettlement {
    /// The tenant.
    pub tenant_id: String,
    /// The call.
    pub call_id: String,
    /// Seconds billed in the end (never more than reserved).
    pub billed_secs: i64,
    /// Reserved money not used, given back (0 for none).
    pub refund_micros: i64,
}

/// The idempotency key of tick `tick` of call `call_id`.
pub fn tick_key(call_id: &str, tick: u32) -> String {
    format!("call:{call_id}:tick:{tick}")
}

/// The idempotency key of the settlement refund of call `call_id`.
pub fn settle_key(call_id: &str) -> String {
    format!("call:{call_id}:settle")
}

impl Store {
    /// Charges one meter tick (see the module docs). `Conflict` if the call is not ringing or
    /// live (it ended: a late tick must not charge).
    pub async fn charge_call(&self, c: &CallCharge) -> Result<ChargeOutcome, StoreError> {
        let key = tick_key(&c.call_id, c.tick);
        let mut tx = self.begin_write().await?;
        if let Some(entry) = find_by_key(&mut tx, &key).await? {
            return Ok(ChargeOutcome::AlreadyCharged(entry));
        }
        match debit_call(&mut tx, c, TickTime::Record).await? {
            CallDebit::Paid { entry, last_topup } => {
                tx.commit().await?;
                let after = entry.balance_after_micros;
                let alerts = crossed(&c.tenant_id, after + c.amount_micros, after, last_topup);
                Ok(ChargeOutcome::Charged { entry, alerts })
            }
            CallDebit::Insufficient {
                balance_micros,
                last_topup,
            } => Ok(ChargeOutcome::Insufficient {
                balance_micros,
                alert: WalletAlert {
                    tenant_id: c.tenant_id.clone(),
                    kind: AlertKind::Empty,
                    balance_micros,
                    last_topup_micros: last_topup,
                },
            }),
            CallDebit::KeyTaken => {
                drop(tx);
                let original = self.ledger_entry(&key).await?;
                original
                    .map(ChargeOutcome::AlreadyCharged)
                    .ok_or_else(|| StoreError::Conflict {
                        what: format!("tick {key} is being charged concurrently"),
                    })
            }
        }
    }

    /// Settles a call: refunds the unused reservation (once, under `call:<id>:settle`) and sets
    /// the final billed seconds, in one transaction. Replaying it changes nothing.
    pub async fn settle_call(&self, s: &CallSettlement) -> Result<(), StoreError> {
        if s.refund_micros < 0 || s.billed_secs < 0 {
            return Err(StoreError::invalid("refund_micros", "must not be negative"));
        }
        let mut tx = self.begin_write().await?;
        settle_on(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Crash recovery: ends every call of `node` (or written without a node) still ringing or
    /// live, at its last meter tick (else when answered, else when it started), as hung up by
    /// the switch with cause `switch_restart`. A call never answered gets back what it paid (the
    /// reservation taken at admission, see [`Store::refund_unanswered_call`]); an answered one
    /// keeps the billed seconds and cost its charges wrote. Either way the record equals what
    /// the ledger holds for the call. Returns the calls closed.
    pub async fn recover_open_calls(&self, node: &str) -> Result<Vec<CallRecord>, StoreError> {
        let open: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT id, answered_at FROM call_records \
             WHERE state IN ($1, $2) AND (node = $3 OR node IS NULL)",
        )
        .bind(CallState::Ringing.as_str())
        .bind(CallState::Live.as_str())
        .bind(node)
        .fetch_all(&self.pool)
        .await?;
        for (id, answered_at) in &open {
            if answered_at.is_none() {
                self.refund_unanswered_call(id).await?;
            }
        }
        sqlx::query(
            "UPDATE call_records SET state = $1, \
             ended_at = COALESCE(last_tick_at, answered_at, started_at), \
             hangup_by = 'switch', hangup_cause = 'switch_restart' \
             WHERE state IN ($2, $3) AND (node = $4 OR node IS NULL)",
        )
        .bind(CallState::Ended.as_str())
        .bind(CallState::Ringing.as_str())
        .bind(CallState::Live.as_str())
        .bind(node)
        .execute(&self.pool)
        .await?;
        let mut closed = Vec::with_capacity(open.len());
        for (id, _) in open {
            if let Some(call) = self.get_call(&id).await? {
                closed.push(call);
            }
        }
        Ok(closed)
    }

    /// The sum of the call's ledger entries (negative: what the call cost its tenant).
    pub async fn call_ledger_total(&self, call_id: &str) -> Result<i64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM ledger_entries \
             WHERE call_id = $1",
        )
        .bind(call_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(total)
    }

    async fn ledger_entry(&self, key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(find_by_key(&mut conn, key).await?)
    }
}

/// Whether a debit moves the call record's `last_tick_at` (meter ticks do; the reservation
/// taken at admission does not: the call has not been answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickTime {
    /// Set `last_tick_at` to the charge's time.
    Record,
    /// Leave `last_tick_at` as it is.
    Keep,
}

/// What [`debit_call`] did on an open write transaction.
pub(crate) enum CallDebit {
    /// The wallet paid: the new entry (its balance after) and the last top-up. Commit.
    Paid {
        /// The ledger entry written.
        entry: LedgerEntry,
        /// The wallet's last top-up, for the alerts.
        last_topup: i64,
    },
    /// The balance does not cover the amount; nothing was written.
    Insufficient {
        /// The balance at the time.
        balance_micros: i64,
        /// The wallet's last top-up.
        last_topup: i64,
    },
    /// A concurrent transaction wrote the charge's key first: this transaction is spoiled (on
    /// PostgreSQL) and must be dropped.
    KeyTaken,
}

/// Charges `c` on an open write transaction: the conditional debit (`WHERE balance_micros >=
/// amount`, so concurrent debits can never overdraw), the ledger entry under
/// `call:<id>:tick:<n>` and the call record's `billed_secs` and `cost_micros`. `Conflict` if
/// the call is not ringing or live; the caller then drops the transaction.
pub(crate) async fn debit_call(
    conn: &mut AnyConnection,
    c: &CallCharge,
    tick_time: TickTime,
) -> Result<CallDebit, StoreError> {
    if c.amount_micros <= 0 {
        return Err(StoreError::invalid(
            "amount_micros",
            "must be greater than 0",
        ));
    }
    let changed: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE wallets SET balance_micros = balance_micros - $1, updated_at = $2 \
         WHERE tenant_id = $3 AND balance_micros >= $1 \
         RETURNING balance_micros, last_topup_micros",
    )
    .bind(c.amount_micros)
    .bind(c.at_ms)
    .bind(&c.tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((balance_after, last_topup)) = changed else {
        let balance_micros = wallet_balance(conn, &c.tenant_id)
            .await?
            .ok_or_else(|| StoreError::not_found("wallet", &c.tenant_id))?;
        let last_topup = last_topup(conn, &c.tenant_id).await?;
        return Ok(CallDebit::Insufficient {
            balance_micros,
            last_topup,
        });
    };
    let entry = LedgerEntry {
        id: new_id(),
        tenant_id: c.tenant_id.clone(),
        amount_micros: -c.amount_micros,
        kind: LedgerKind::CallCharge,
        idempotency_key: tick_key(&c.call_id, c.tick),
        call_id: Some(c.call_id.clone()),
        description: format!("call time, {} s reserved", c.billed_secs_after),
        balance_after_micros: balance_after,
        created_at: c.at_ms,
    };
    match insert_entry(conn, &entry).await {
        Ok(()) => {}
        Err(err) if is_unique_violation(&err) => return Ok(CallDebit::KeyTaken),
        Err(err) => return Err(err.into()),
    }
    let tick_at = match tick_time {
        TickTime::Record => Some(c.at_ms),
        TickTime::Keep => None,
    };
    let moved = sqlx::query(
        "UPDATE call_records SET billed_secs = $1, cost_micros = cost_micros + $2, \
         last_tick_at = COALESCE($3, last_tick_at) WHERE id = $4 AND state IN ($5, $6)",
    )
    .bind(c.billed_secs_after)
    .bind(c.amount_micros)
    .bind(tick_at)
    .bind(&c.call_id)
    .bind(CallState::Ringing.as_str())
    .bind(CallState::Live.as_str())
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(StoreError::Conflict {
            what: format!(
                "call {} is not ringing or live: tick not charged",
                c.call_id
            ),
        });
    }
    Ok(CallDebit::Paid { entry, last_topup })
}

/// Settles a call on an open write transaction (see [`Store::settle_call`]); returns what was
/// refunded now (0 when nothing was due or the refund was written before).
pub(crate) async fn settle_on(
    conn: &mut AnyConnection,
    s: &CallSettlement,
) -> Result<i64, StoreError> {
    let key = settle_key(&s.call_id);
    let mut refunded = 0;
    if s.refund_micros > 0 && find_by_key(conn, &key).await?.is_none() {
        let now = now_ms();
        let balance_after: i64 = sqlx::query_scalar(
            "UPDATE wallets SET balance_micros = balance_micros + $1, updated_at = $2 \
             WHERE tenant_id = $3 RETURNING balance_micros",
        )
        .bind(s.refund_micros)
        .bind(now)
        .bind(&s.tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("wallet", &s.tenant_id))?;
        let entry = LedgerEntry {
            id: new_id(),
            tenant_id: s.tenant_id.clone(),
            amount_micros: s.refund_micros,
            kind: LedgerKind::Refund,
            idempotency_key: key,
            call_id: Some(s.call_id.clone()),
            description: format!("unused call time refunded, {} s billed", s.billed_secs),
            balance_after_micros: balance_after,
            created_at: now,
        };
        insert_entry(conn, &entry).await?;
        refunded = s.refund_micros;
    }
    sqlx::query(
        "UPDATE call_records SET billed_secs = $1, cost_micros = cost_micros - $2 WHERE id = $3",
    )
    .bind(s.billed_secs)
    .bind(refunded)
    .bind(&s.call_id)
    .execute(conn)
    .await?;
    Ok(refunded)
}

async fn last_topup(conn: &mut AnyConnection, tenant_id: &str) -> Result<i64, sqlx::Error> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT last_topup_micros FROM wallets WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?;
    Ok(v.unwrap_or(0))
}

/// The thresholds a change of balance from `before` to `after` crossed (see [`AlertKind`]).
pub fn crossed(tenant_id: &str, before: i64, after: i64, last_topup: i64) -> Vec<WalletAlert> {
    let alert = |kind| WalletAlert {
        tenant_id: tenant_id.to_string(),
        kind,
        balance_micros: after,
        last_topup_micros: last_topup,
    };
    let mut alerts = Vec::new();
    if last_topup > 0 {
        for (used_pct, kind) in [(75, AlertKind::Used75), (90, AlertKind::Used90)] {
            // Balance left when `used_pct` % of the top-up is used (i128: no overflow).
            let threshold = (i128::from(last_topup) * (100 - used_pct) / 100) as i64;
            if before > threshold && after <= threshold {
                alerts.push(alert(kind));
            }
        }
    }
    if before > 0 && after == 0 {
        alerts.push(alert(AlertKind::Empty));
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_fire_once_when_crossed() {
        let kinds = |b, a| {
            crossed("t", b, a, 1_000)
                .into_iter()
                .map(|x| x.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(1_000, 900), []);
        assert_eq!(kinds(300, 250), [AlertKind::Used75]);
        assert_eq!(kinds(250, 200), []);
        assert_eq!(kinds(260, 100), [AlertKind::Used75, AlertKind::Used90]);
        assert_eq!(kinds(100, 0), [AlertKind::Empty]);
        assert_eq!(
            kinds(300, 0),
            [AlertKind::Used75, AlertKind::Used90, AlertKind::Empty]
        );
        assert_eq!(crossed("t", 10, 5, 0), []);
    }
}
