//! Wallets and their ledger: prepaid balances in micro-units, changed only together with an
//! idempotent ledger entry in the same transaction.
//!
//! Every change carries an idempotency key (UNIQUE in `ledger_entries`). Replaying a key is a
//! no-op that hands back the original entry, so callers can retry after a timeout without
//! charging twice. Debits are conditional (`... WHERE balance_micros >= $1`), so the balance
//! never goes below zero even with many concurrent debits; the schema's
//! `CHECK (balance_micros >= 0)` backs this up. If two transactions race on the same key, the
//! loser hits the UNIQUE index, rolls back, and returns the winner's entry.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, is_unique_violation};
use crate::rows::{decode_text_enum, text_enum};

text_enum! {
    /// Why a ledger entry was written.
    LedgerKind {
        /// Money paid in ([`Store::credit`]).
        Topup => "topup",
        /// Call time charged ([`Store::try_debit`]).
        CallCharge => "call_charge",
        /// Money given back.
        Refund => "refund",
        /// A manual correction.
        Adjustment => "adjustment",
    }
}

/// A tenant's prepaid balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Wallet {
    /// The owning tenant (one wallet per tenant).
    pub tenant_id: String,
    /// Current balance in micro-units; never negative.
    pub balance_micros: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Amount of the latest top-up (0 before the first).
    pub last_topup_micros: i64,
    /// Unix milliseconds of the latest change.
    pub updated_at: i64,
}

/// One change to a wallet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerEntry {
    /// Uuid v7 string.
    pub id: String,
    /// The wallet's tenant.
    pub tenant_id: String,
    /// Positive for a credit, negative for a debit.
    pub amount_micros: i64,
    /// Why it was written.
    pub kind: LedgerKind,
    /// The caller's key; unique across all entries.
    pub idempotency_key: String,
    /// The call charged, for call charges.
    pub call_id: Option<String>,
    /// Free text for statements.
    pub description: String,
    /// The wallet balance right after this entry.
    pub balance_after_micros: i64,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl LedgerEntry {
    /// Decodes a row of its table.
    pub(crate) fn from_row(row: &AnyRow) -> Result<LedgerEntry, sqlx::Error> {
        Ok(LedgerEntry {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            amount_micros: row.try_get("amount_micros")?,
            kind: decode_text_enum(row, "kind", LedgerKind::parse)?,
            idempotency_key: row.try_get("idempotency_key")?,
            call_id: row.try_get("call_id")?,
            description: row.try_get("description")?,
            balance_after_micros: row.try_get("balance_after_micros")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// The result of [`Store::try_debit`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum DebitOutcome {
    /// The wallet was charged; this is the new entry.
    Charged(LedgerEntry),
    /// The idempotency key was used before; nothing changed; this is the original entry.
    AlreadyCharged(LedgerEntry),
    /// The balance is below the amount; nothing changed.
    Insufficient {
        /// The balance at the time of the attempt.
        balance_micros: i64,
    },
}

/// Selects the entry with a given idempotency key.
const LEDGER_BY_KEY: &str = "SELECT id, tenant_id, amount_micros, kind, idempotency_key, \
     call_id, description, balance_after_micros, created_at FROM ledger_entries \
     WHERE idempotency_key = $1";

impl Store {
    /// Adds `amount_micros` (> 0) to the tenant's wallet as a top-up. Replaying an
    /// `idempotency_key` changes nothing and returns the original entry; a key already used
    /// for another tenant or kind of entry is a `Conflict`.
    pub async fn credit(
        &self,
        tenant_id: &str,
        amount_micros: i64,
        idempotency_key: &str,
        description: &str,
    ) -> Result<LedgerEntry, StoreError> {
        validate_change(amount_micros, idempotency_key)?;
        let mut tx = self.begin_write().await?;
        match apply_credit(
            &mut tx,
            tenant_id,
            amount_micros,
            idempotency_key,
            description,
        )
        .await?
        {
            Applied::New(entry) => {
                tx.commit().await?;
                Ok(entry)
            }
            Applied::Existing(entry) => Ok(entry),
            Applied::LostRace => {
                drop(tx);
                let original = self.entry_by_key(idempotency_key).await?;
                expect_same(original, tenant_id, LedgerKind::Topup, idempotency_key)
            }
        }
    }

    /// Takes `amount_micros` (> 0) from the tenant's wallet if the balance covers it, writing a
    /// `call_charge` entry in the same transaction. Replaying an `idempotency_key` returns
    /// `AlreadyCharged` with the original entry and changes nothing.
    pub async fn try_debit(
        &self,
        tenant_id: &str,
        amount_micros: i64,
        idempotency_key: &str,
        call_id: Option<&str>,
        description: &str,
    ) -> Result<DebitOutcome, StoreError> {
        validate_change(amount_micros, idempotency_key)?;
        let mut tx = self.begin_write().await?;
        if let Some(entry) = find_by_key(&mut tx, idempotency_key).await? {
            let entry = expect_same(
                Some(entry),
                tenant_id,
                LedgerKind::CallCharge,
                idempotency_key,
            )?;
            return Ok(DebitOutcome::AlreadyCharged(entry));
        }
        let now = now_ms();
        let balance_after: Option<i64> = sqlx::query_scalar(
            "UPDATE wallets SET balance_micros = balance_micros - $1, updated_at = $2 \
             WHERE tenant_id = $3 AND balance_micros >= $1 RETURNING balance_micros",
        )
        .bind(amount_micros)
        .bind(now)
        .bind(tenant_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(balance_after) = balance_after else {
            let balance = wallet_balance(&mut tx, tenant_id).await?;
            return match balance {
                Some(balance_micros) => Ok(DebitOutcome::Insufficient { balance_micros }),
                None => Err(StoreError::not_found("wallet", tenant_id)),
            };
        };
        let entry = LedgerEntry {
            id: new_id(),
            tenant_id: tenant_id.to_string(),
            amount_micros: -amount_micros,
            kind: LedgerKind::CallCharge,
            idempotency_key: idempotency_key.to_string(),
            call_id: call_id.map(str::to_string),
            description: description.to_string(),
            balance_after_micros: balance_after,
            created_at: now,
        };
        match insert_entry(&mut tx, &entry).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(DebitOutcome::Charged(entry))
            }
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let original = self.entry_by_key(idempotency_key).await?;
                let original =
                    expect_same(original, tenant_id, LedgerKind::CallCharge, idempotency_key)?;
                Ok(DebitOutcome::AlreadyCharged(original))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The tenant's current balance in micro-units (`NotFound` if it has no wallet).
    pub async fn balance(&self, tenant_id: &str) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        wallet_balance(&mut conn, tenant_id)
            .await?
            .ok_or_else(|| StoreError::not_found("wallet", tenant_id))
    }

    /// The tenant's wallet, if it has one.
    pub async fn get_wallet(&self, tenant_id: &str) -> Result<Option<Wallet>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, balance_micros, currency, last_topup_micros, updated_at \
             FROM wallets WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Wallet {
            tenant_id: row.try_get("tenant_id")?,
            balance_micros: row.try_get("balance_micros")?,
            currency: row.try_get("currency")?,
            last_topup_micros: row.try_get("last_topup_micros")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    /// All of the tenant's ledger entries, oldest first (newest last).
    pub async fn ledger(&self, tenant_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, amount_micros, kind, idempotency_key, call_id, description, \
             balance_after_micros, created_at FROM ledger_entries WHERE tenant_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(LedgerEntry::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// The entry written under `key`, read outside any transaction.
    async fn entry_by_key(&self, key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(find_by_key(&mut conn, key).await?)
    }
}

/// What [`apply_credit`] did.
pub(crate) enum Applied {
    /// Wrote this entry; the transaction must be committed.
    New(LedgerEntry),
    /// The key was already used for this tenant's top-up; nothing written.
    Existing(LedgerEntry),
    /// A concurrent transaction wrote the same key first; this transaction is spoiled (on
    /// PostgreSQL) and must be dropped, then the original read outside it.
    LostRace,
}

/// Checks the arguments common to credits and debits.
fn validate_change(amount_micros: i64, idempotency_key: &str) -> Result<(), StoreError> {
    if amount_micros <= 0 {
        return Err(StoreError::invalid(
            "amount_micros",
            "must be greater than 0",
        ));
    }
    if idempotency_key.trim().is_empty() {
        return Err(StoreError::invalid("idempotency_key", "must not be empty"));
    }
    Ok(())
}

/// Returns the original entry for a replayed key if it is the same kind of change for the
/// same tenant; otherwise the key was reused for something else, a `Conflict`.
fn expect_same(
    entry: Option<LedgerEntry>,
    tenant_id: &str,
    kind: LedgerKind,
    key: &str,
) -> Result<LedgerEntry, StoreError> {
    match entry {
        Some(entry) if entry.tenant_id == tenant_id && entry.kind == kind => Ok(entry),
        Some(entry) => Err(StoreError::Conflict {
            what: format!(
                "idempotency key {key:?} was already used for a {} of tenant {}",
                entry.kind, entry.tenant_id
            ),
        }),
        // The racing writer's entry vanished (its tenant was deleted): report the clash.
        None => Err(StoreError::Conflict {
            what: format!("idempotency key {key:?} is being used concurrently"),
        }),
    }
}

/// Credits a wallet on an open write transaction (see [`Store::credit`]). The caller
/// validated the amount and key.
pub(crate) async fn apply_credit(
    conn: &mut AnyConnection,
    tenant_id: &str,
    amount_micros: i64,
    idempotency_key: &str,
    description: &str,
) -> Result<Applied, StoreError> {
    if let Some(entry) = find_by_key(conn, idempotency_key).await? {
        let entry = expect_same(Some(entry), tenant_id, LedgerKind::Topup, idempotency_key)?;
        return Ok(Applied::Existing(entry));
    }
    let now = now_ms();
    // The bound on the old balance keeps the sum inside i64 (SQLite would turn an overflowing
    // integer into a float; PostgreSQL would fail with "bigint out of range").
    let balance_after: Option<i64> = sqlx::query_scalar(
        "UPDATE wallets SET balance_micros = balance_micros + $1, last_topup_micros = $1, \
         updated_at = $2 WHERE tenant_id = $3 AND balance_micros <= $4 RETURNING balance_micros",
    )
    .bind(amount_micros)
    .bind(now)
    .bind(tenant_id)
    .bind(i64::MAX - amount_micros)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(balance_after) = balance_after else {
        return match wallet_balance(conn, tenant_id).await? {
            Some(_) => Err(StoreError::invalid(
                "amount_micros",
                "the balance would overflow",
            )),
            None => Err(StoreError::not_found("wallet", tenant_id)),
        };
    };
    let entry = LedgerEntry {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        amount_micros,
        kind: LedgerKind::Topup,
        idempotency_key: idempotency_key.to_string(),
        call_id: None,
        description: description.to_string(),
        balance_after_micros: balance_after,
        created_at: now,
    };
    match insert_entry(conn, &entry).await {
        Ok(()) => Ok(Applied::New(entry)),
        Err(e) if is_unique_violation(&e) => Ok(Applied::LostRace),
        Err(e) => Err(e.into()),
    }
}

/// The entry written under `key`, if any.
pub(crate) async fn find_by_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<LedgerEntry>, sqlx::Error> {
    let row = sqlx::query(LEDGER_BY_KEY)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.map(|r| LedgerEntry::from_row(&r)).transpose()
}

/// The wallet's balance, or `None` if the tenant has no wallet.
pub(crate) async fn wallet_balance(
    conn: &mut AnyConnection,
    tenant_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT balance_micros FROM wallets WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(conn)
        .await
}

/// Inserts a ledger entry; the raw error lets callers spot a replayed key.
pub(crate) async fn insert_entry(
    conn: &mut AnyConnection,
    e: &LedgerEntry,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ledger_entries (id, tenant_id, amount_micros, kind, idempotency_key, \
         call_id, description, balance_after_micros, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.id)
    .bind(&e.tenant_id)
    .bind(e.amount_micros)
    .bind(e.kind.as_str())
    .bind(&e.idempotency_key)
    .bind(e.call_id.as_deref())
    .bind(&e.description)
    .bind(e.balance_after_micros)
    .bind(e.created_at)
    .execute(conn)
    .await?;
    Ok(())
}
