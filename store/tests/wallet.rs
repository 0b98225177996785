//! Wallets and the ledger on SQLite and PostgreSQL: idempotent credits, conditional debits,
//! and concurrency (the balance never goes below zero).

mod common;

use common::{Ctx, on_both, tenant};
use store::{DEFAULT_CURRENCY, DebitOutcome, LedgerEntry, LedgerKind, StoreError};

fn charged(outcome: DebitOutcome) -> LedgerEntry {
    match outcome {
        DebitOutcome::Charged(entry) => entry,
        other => panic!("expected Charged, got {other:?}"),
    }
}

#[tokio::test]
async fn new_tenant_has_an_empty_wallet() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        assert_eq!(store.balance(&t.id).await.expect("balance"), 0);
        let wallet = store
            .get_wallet(&t.id)
            .await
            .expect("wallet")
            .expect("exists");
        assert_eq!(wallet.currency, DEFAULT_CURRENCY);
        assert_eq!(wallet.last_topup_micros, 0);
        assert!(store.ledger(&t.id).await.expect("ledger").is_empty());
        assert!(matches!(
            store.balance("nobody").await,
            Err(StoreError::NotFound { what: "wallet", .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn credit_replay_returns_the_original_entry() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        let first = store
            .credit(&t.id, 5_000_000, "topup-1", "card payment")
            .await
            .expect("credit");
        assert_eq!(first.amount_micros, 5_000_000);
        assert_eq!(first.kind, LedgerKind::Topup);
        assert_eq!(first.balance_after_micros, 5_000_000);
        // Same key, different amount: still the original, nothing added.
        let replay = store
            .credit(&t.id, 9_000_000, "topup-1", "retry")
            .await
            .expect("replay");
        assert_eq!(replay, first);
        assert_eq!(store.balance(&t.id).await.expect("balance"), 5_000_000);
        assert_eq!(store.ledger(&t.id).await.expect("ledger").len(), 1);
        let wallet = store
            .get_wallet(&t.id)
            .await
            .expect("wallet")
            .expect("exists");
        assert_eq!(wallet.last_topup_micros, 5_000_000);

        // The key belongs to this tenant's top-up: another tenant cannot reuse it.
        let other = tenant(&store, "Other").await;
        assert!(matches!(
            store.credit(&other.id, 1, "topup-1", "x").await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.balance(&other.id).await.expect("balance"), 0);
    })
    .await;
}

#[tokio::test]
async fn credits_and_debits_reject_bad_arguments() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        for amount in [0, -5] {
            assert!(matches!(
                store.credit(&t.id, amount, "k", "d").await,
                Err(StoreError::Invalid {
                    field: "amount_micros",
                    ..
                })
            ));
            assert!(matches!(
                store.try_debit(&t.id, amount, "k", None, "d").await,
                Err(StoreError::Invalid {
                    field: "amount_micros",
                    ..
                })
            ));
        }
        assert!(matches!(
            store.credit(&t.id, 1, " ", "d").await,
            Err(StoreError::Invalid {
                field: "idempotency_key",
                ..
            })
        ));
        assert!(matches!(
            store.credit("nobody", 1, "k", "d").await,
            Err(StoreError::NotFound { what: "wallet", .. })
        ));
        assert!(matches!(
            store.try_debit("nobody", 1, "k2", None, "d").await,
            Err(StoreError::NotFound { what: "wallet", .. })
        ));
        store
            .credit(&t.id, i64::MAX - 10, "big", "d")
            .await
            .expect("big credit");
        assert!(matches!(
            store.credit(&t.id, 11, "overflow", "d").await,
            Err(StoreError::Invalid {
                field: "amount_micros",
                ..
            })
        ));
        assert_eq!(store.balance(&t.id).await.expect("balance"), i64::MAX - 10);
    })
    .await;
}

#[tokio::test]
async fn insufficient_debit_leaves_the_balance() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        store
            .credit(&t.id, 1_000, "topup", "d")
            .await
            .expect("credit");
        let outcome = store
            .try_debit(&t.id, 2_000, "call-1-tick-1", Some("call-1"), "tick")
            .await
            .expect("debit");
        assert_eq!(
            outcome,
            DebitOutcome::Insufficient {
                balance_micros: 1_000
            }
        );
        assert_eq!(store.balance(&t.id).await.expect("balance"), 1_000);
        assert_eq!(store.ledger(&t.id).await.expect("ledger").len(), 1);
        // The key was not consumed: a later debit with it can succeed.
        let entry = charged(
            store
                .try_debit(&t.id, 1_000, "call-1-tick-1", Some("call-1"), "tick")
                .await
                .expect("debit"),
        );
        assert_eq!(entry.balance_after_micros, 0);
    })
    .await;
}

#[tokio::test]
async fn debit_replay_is_already_charged() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        store
            .credit(&t.id, 10_000, "topup", "d")
            .await
            .expect("credit");
        let entry = charged(
            store
                .try_debit(&t.id, 3_000, "tick-1", Some("call-9"), "first 6 s")
                .await
                .expect("debit"),
        );
        assert_eq!(entry.amount_micros, -3_000);
        assert_eq!(entry.kind, LedgerKind::CallCharge);
        assert_eq!(entry.call_id.as_deref(), Some("call-9"));
        assert_eq!(entry.balance_after_micros, 7_000);
        let replay = store
            .try_debit(&t.id, 3_000, "tick-1", Some("call-9"), "first 6 s")
            .await
            .expect("replay");
        assert_eq!(replay, DebitOutcome::AlreadyCharged(entry));
        assert_eq!(store.balance(&t.id).await.expect("balance"), 7_000);
        // A top-up key is not a debit key.
        assert!(matches!(
            store.try_debit(&t.id, 1, "topup", None, "d").await,
            Err(StoreError::Conflict { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn balance_equals_the_sum_of_the_ledger() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        store
            .credit(&t.id, 700_000, "c1", "d")
            .await
            .expect("credit");
        for i in 0..5 {
            charged(
                store
                    .try_debit(&t.id, 90_000, &format!("d{i}"), Some("call"), "tick")
                    .await
                    .expect("debit"),
            );
        }
        store
            .credit(&t.id, 50_000, "c2", "d")
            .await
            .expect("credit");
        let outcome = store
            .try_debit(&t.id, 10_000_000, "too-much", None, "d")
            .await
            .expect("debit");
        assert!(matches!(outcome, DebitOutcome::Insufficient { .. }));

        let ledger = store.ledger(&t.id).await.expect("ledger");
        assert_eq!(ledger.len(), 7);
        let balance = store.balance(&t.id).await.expect("balance");
        assert_eq!(balance, 700_000 - 5 * 90_000 + 50_000);
        assert_eq!(ledger.iter().map(|e| e.amount_micros).sum::<i64>(), balance);
        // Newest last, and each entry's running balance follows from the one before.
        let mut running = 0;
        for entry in &ledger {
            running += entry.amount_micros;
            assert_eq!(entry.balance_after_micros, running, "{entry:?}");
        }
        assert_eq!(
            ledger.first().map(|e| e.idempotency_key.as_str()),
            Some("c1")
        );
        assert_eq!(
            ledger.last().map(|e| e.idempotency_key.as_str()),
            Some("c2")
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_debits_never_overdraw() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        store
            .credit(&t.id, 25_000_000, "topup", "d")
            .await
            .expect("credit");
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let store = store.clone();
                let tenant_id = t.id.clone();
                tokio::spawn(async move {
                    store
                        .try_debit(&tenant_id, 1_000_000, &format!("tick-{i}"), None, "tick")
                        .await
                })
            })
            .collect();
        let (mut ok, mut refused) = (0, 0);
        for task in tasks {
            match task.await.expect("join").expect("debit") {
                DebitOutcome::Charged(entry) => {
                    assert!(entry.balance_after_micros >= 0, "{entry:?}");
                    ok += 1;
                }
                DebitOutcome::Insufficient { balance_micros } => {
                    assert!((0..1_000_000).contains(&balance_micros));
                    refused += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((ok, refused), (25, 15));
        assert_eq!(store.balance(&t.id).await.expect("balance"), 0);
        let ledger = store.ledger(&t.id).await.expect("ledger");
        assert_eq!(ledger.len(), 26);
        assert_eq!(ledger.iter().map(|e| e.amount_micros).sum::<i64>(), 0);
        assert!(ledger.iter().all(|e| e.balance_after_micros >= 0));
    })
    .await;
}

#[tokio::test]
async fn concurrent_replays_charge_once() {
    on_both(|Ctx { store, .. }| async move {
        let t = tenant(&store, "Acme").await;
        let credits: Vec<_> = (0..8)
            .map(|_| {
                let (store, id) = (store.clone(), t.id.clone());
                tokio::spawn(async move { store.credit(&id, 10_000, "once", "d").await })
            })
            .collect();
        let mut credit_ids = Vec::new();
        for task in credits {
            credit_ids.push(task.await.expect("join").expect("credit").id);
        }
        credit_ids.dedup();
        assert_eq!(credit_ids.len(), 1, "every replay returns the one entry");
        assert_eq!(store.balance(&t.id).await.expect("balance"), 10_000);

        let debits: Vec<_> = (0..8)
            .map(|_| {
                let (store, id) = (store.clone(), t.id.clone());
                tokio::spawn(async move { store.try_debit(&id, 4_000, "tick", None, "d").await })
            })
            .collect();
        let mut charged_ids = Vec::new();
        let mut fresh = 0;
        for task in debits {
            match task.await.expect("join").expect("debit") {
                DebitOutcome::Charged(e) => {
                    fresh += 1;
                    charged_ids.push(e.id);
                }
                DebitOutcome::AlreadyCharged(e) => charged_ids.push(e.id),
                other => panic!("unexpected {other:?}"),
            }
        }
        charged_ids.dedup();
        assert_eq!(fresh, 1);
        assert_eq!(charged_ids.len(), 1);
        assert_eq!(store.balance(&t.id).await.expect("balance"), 6_000);
        assert_eq!(store.ledger(&t.id).await.expect("ledger").len(), 2);
    })
    .await;
}
