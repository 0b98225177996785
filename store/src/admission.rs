//! Admission: a new call's record is written under the tenant's concurrent-call caps and, for a
//! paying tenant, its first billing increment is taken from the wallet, in one transaction. So
//! a call is admitted only if its first increment is paid, and a wallet that pays for five
//! increments admits five calls, however many INVITEs race for it.
//!
//! The reservation is an ordinary call charge, tick 0 (ledger key `call:<id>:tick:0`, the
//! record's `billed_secs` and `cost_micros`): the meter of an admitted call starts with it paid
//! and buys tick 1 next. A call that is never answered gets it back
//! ([`Store::refund_unanswered_call`], or the meter's settlement).
//!
//! On PostgreSQL the tenant row is locked `FOR NO KEY UPDATE`: admissions of one tenant run one
//! at a time, while running calls still insert their ledger entries (whose foreign key takes a
//! `KEY SHARE` lock on the tenant, which `FOR UPDATE` would block, a deadlock with an admission
//! waiting for the wallet row). The debit itself is conditional (`WHERE balance_micros >=
//! amount`), so neither admissions nor meters can overdraw the wallet.

use sqlx::AnyConnection;

use crate::billing::{
    CallCharge, CallDebit, CallSettlement, TickTime, WalletAlert, crossed, debit_call, settle_key,
    settle_on,
};
use crate::calls::{CallState, Direction, NewCall, insert_call_row};
use crate::connect::{Backend, Store, now_ms};
use crate::error::StoreError;
use crate::wallet::find_by_key;

/// The first billing increment an admission takes from the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// What it costs, in micro-units (> 0).
    pub amount_micros: i64,
    /// The seconds it pays for (the record's `billed_secs` while the call rings).
    pub billed_secs: i64,
}

/// The result of [`Store::admit_call`] and [`Store::admit_outbound_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The call record was written in state `ringing`, its reservation (if any) paid.
    Admitted {
        /// Wallet thresholds the reservation crossed.
        alerts: Vec<WalletAlert>,
    },
    /// The tenant already has `live` calls ringing or live (at or above its cap).
    AtCapacity {
        /// Calls counted.
        live: i64,
    },
    /// The tenant already has `live` outbound calls ringing or live (its outbound cap).
    OutboundAtCapacity {
        /// Outbound calls counted.
        live: i64,
    },
    /// The wallet cannot pay the reservation; nothing was written.
    Insufficient {
        /// The balance at the time.
        balance_micros: i64,
    },
}

/// The caps an admission checks.
struct Caps {
    max_concurrent: i64,
    max_outbound: Option<i64>,
}

impl Store {
    /// Writes the call record if the tenant has fewer than `max_concurrent` calls ringing or
    /// live, counting every node sharing the database, and takes `reserve` from its wallet
    /// (`None` for a free plan). The count, the insert and the debit are one transaction under
    /// a lock on the tenant (SQLite: the database write lock), so two INVITEs racing for the
    /// last slot, or the last increment of credit, cannot both get it.
    pub async fn admit_call(
        &self,
        c: &NewCall,
        max_concurrent: i64,
        reserve: Option<Reservation>,
    ) -> Result<Admission, StoreError> {
        let caps = Caps {
            max_concurrent,
            max_outbound: None,
        };
        self.admit(c, caps, reserve).await
    }

    /// Like [`Store::admit_call`] for a call we place: the tenant must also have fewer than
    /// `max_outbound` outbound calls ringing or live (the toll-fraud guard's concurrency cap).
    pub async fn admit_outbound_call(
        &self,
        c: &NewCall,
        max_concurrent: i64,
        max_outbound: i64,
        reserve: Option<Reservation>,
    ) -> Result<Admission, StoreError> {
        let caps = Caps {
            max_concurrent,
            max_outbound: Some(max_outbound),
        };
        self.admit(c, caps, reserve).await
    }

    async fn admit(
        &self,
        c: &NewCall,
        caps: Caps,
        reserve: Option<Reservation>,
    ) -> Result<Admission, StoreError> {
        let tenant_id = c
            .tenant_id
            .as_deref()
            .ok_or_else(|| StoreError::invalid("tenant_id", "admission needs the tenant"))?;
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(refusal) = over_cap(&mut tx, tenant_id, &caps).await? {
            return Ok(refusal);
        }
        insert_call_row(&mut tx, c).await?;
        let alerts = match reserve {
            None => Vec::new(),
            Some(r) => {
                let charge = CallCharge {
                    tenant_id: tenant_id.to_string(),
                    call_id: c.id.clone(),
                    tick: 0,
                    amount_micros: r.amount_micros,
                    billed_secs_after: r.billed_secs,
                    at_ms: now_ms(),
                };
                match debit_call(&mut tx, &charge, TickTime::Keep).await? {
                    CallDebit::Paid { entry, last_topup } => {
                        let after = entry.balance_after_micros;
                        crossed(tenant_id, after + r.amount_micros, after, last_topup)
                    }
                    // Dropping the transaction takes the record back out.
                    CallDebit::Insufficient { balance_micros, .. } => {
                        return Ok(Admission::Insufficient { balance_micros });
                    }
                    CallDebit::KeyTaken => {
                        return Err(StoreError::Conflict {
                            what: format!("call {} was charged before its admission", c.id),
                        });
                    }
                }
            }
        };
        tx.commit().await?;
        Ok(Admission::Admitted { alerts })
    }

    /// Gives back what a call that was never answered paid (the reservation its admission
    /// took), in one transaction under the settlement key `call:<id>:settle`, and sets its
    /// billed seconds and cost to 0. Nothing happens for an answered call, a call that paid
    /// nothing, or one settled before (by its meter). Returns what was refunded now.
    pub async fn refund_unanswered_call(&self, call_id: &str) -> Result<i64, StoreError> {
        // A read first: most calls refused at the door paid nothing, and need no write lock.
        let mut conn = self.pool.acquire().await?;
        if unanswered_payment(&mut conn, call_id).await?.is_none() {
            return Ok(0);
        }
        drop(conn);
        let mut tx = self.begin_write().await?;
        let Some((tenant_id, paid)) = unanswered_payment(&mut tx, call_id).await? else {
            return Ok(0);
        };
        if find_by_key(&mut tx, &settle_key(call_id)).await?.is_some() {
            return Ok(0);
        }
        let refunded = settle_on(
            &mut tx,
            &CallSettlement {
                tenant_id,
                call_id: call_id.to_string(),
                billed_secs: 0,
                refund_micros: paid,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(refunded)
    }
}

/// The refusal when the tenant is at one of `caps`, counted on the open transaction.
async fn over_cap(
    conn: &mut AnyConnection,
    tenant_id: &str,
    caps: &Caps,
) -> Result<Option<Admission>, StoreError> {
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM call_records WHERE tenant_id = $1 AND state IN ($2, $3)",
    )
    .bind(tenant_id)
    .bind(CallState::Ringing.as_str())
    .bind(CallState::Live.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if live >= caps.max_concurrent {
        return Ok(Some(Admission::AtCapacity { live }));
    }
    let Some(cap) = caps.max_outbound else {
        return Ok(None);
    };
    let outbound: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM call_records WHERE tenant_id = $1 AND direction = $2 \
         AND state IN ($3, $4)",
    )
    .bind(tenant_id)
    .bind(Direction::Outbound.as_str())
    .bind(CallState::Ringing.as_str())
    .bind(CallState::Live.as_str())
    .fetch_one(conn)
    .await?;
    Ok((outbound >= cap).then_some(Admission::OutboundAtCapacity { live: outbound }))
}

/// The tenant and the amount of a call that paid something and was never answered.
async fn unanswered_payment(
    conn: &mut AnyConnection,
    call_id: &str,
) -> Result<Option<(String, i64)>, StoreError> {
    let row: Option<(Option<String>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT tenant_id, cost_micros, answered_at FROM call_records WHERE id = $1",
    )
    .bind(call_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some((Some(tenant_id), paid, None)) if paid > 0 => Some((tenant_id, paid)),
        _ => None,
    })
}
