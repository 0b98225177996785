//! Admission on SQLite and PostgreSQL: the first increment is paid in the admission
//! transaction or the call is not admitted; concurrent admissions never overdraw the wallet; a
//! call never answered gets its reservation back.

mod common;

use common::{Ctx, ledger_sum, new_call, on_both, tenant_with_agent, tick};
use store::{
    Admission, AlertKind, CallSettlement, ChargeOutcome, Direction, LedgerKind, NewCall,
    Reservation, Store, tick_key,
};

/// The common tenant's plan (60,000/min, 6-s steps, 30 s minimum) reserves 30 s at admission.
const FIRST: Reservation = Reservation {
    amount_micros: 30_000,
    billed_secs: 30,
};

/// Every call record equals its ledger entries and the wallet equals the tenant's ledger, and
/// no entry left the wallet below zero; returns what the calls cost.
async fn assert_books_balance(store: &Store, tenant: &str) -> i64 {
    let mut spent = 0;
    for call in store.list_calls(Some(tenant), 100).await.unwrap() {
        let ledger = store.call_ledger_total(&call.id).await.unwrap();
        assert_eq!(call.cost_micros, -ledger, "{call:?}");
        spent += call.cost_micros;
    }
    let ledger = store.ledger(tenant).await.unwrap();
    assert!(
        ledger.iter().all(|e| e.balance_after_micros >= 0),
        "{ledger:?}"
    );
    assert_eq!(
        store.balance(tenant).await.unwrap(),
        ledger_sum(store, tenant).await
    );
    spent
}

#[tokio::test]
async fn admission_pays_the_first_increment_or_admits_nothing() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store.credit(&t.id, 100_000, "topup-1", "").await.unwrap();
        let mut alerts = Vec::new();
        for id in ["c1", "c2", "c3"] {
            match store
                .admit_call(&new_call(id, &t.id, &a.id, "n1"), 10, Some(FIRST))
                .await
                .unwrap()
            {
                Admission::Admitted { alerts: crossed } => {
                    alerts.extend(crossed.into_iter().map(|a| a.kind))
                }
                other => panic!("{id}: {other:?}"),
            }
        }
        // 100,000 → 10,000: the third reservation crossed 75 % and 90 % used.
        assert_eq!(alerts, [AlertKind::Used75, AlertKind::Used90]);
        assert_eq!(store.balance(&t.id).await.unwrap(), 10_000);
        let c1 = store.get_call("c1").await.unwrap().unwrap();
        assert_eq!((c1.billed_secs, c1.cost_micros), (30, 30_000));
        assert_eq!(c1.last_tick_at, None, "not answered: no meter tick yet");
        let entry = store
            .ledger(&t.id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.call_id.as_deref() == Some("c1"))
            .unwrap();
        assert_eq!(entry.idempotency_key, tick_key("c1", 0));
        assert_eq!(
            (entry.amount_micros, entry.kind),
            (-30_000, LedgerKind::CallCharge)
        );

        // 10,000 left: the fourth call cannot pay, and leaves no trace.
        let refused = store
            .admit_call(&new_call("c4", &t.id, &a.id, "n1"), 10, Some(FIRST))
            .await
            .unwrap();
        assert_eq!(
            refused,
            Admission::Insufficient {
                balance_micros: 10_000
            }
        );
        assert_eq!(store.get_call("c4").await.unwrap(), None);
        let outbound = NewCall {
            direction: Direction::Outbound,
            ..new_call("o1", &t.id, &a.id, "n1")
        };
        let placed = store
            .admit_outbound_call(&outbound, 10, 10, Some(FIRST))
            .await
            .unwrap();
        assert!(
            matches!(placed, Admission::Insufficient { .. }),
            "{placed:?}"
        );
        assert_eq!(store.get_call("o1").await.unwrap(), None);

        // The meter starts at tick 1: tick 0 is the reservation, never charged twice.
        let again = store
            .charge_call(&tick(&t.id, "c1", 0, 30_000, 30))
            .await
            .unwrap();
        assert!(
            matches!(again, ChargeOutcome::AlreadyCharged(_)),
            "{again:?}"
        );
        let next = store
            .charge_call(&tick(&t.id, "c1", 1, 6_000, 36))
            .await
            .unwrap();
        assert!(matches!(next, ChargeOutcome::Charged { .. }), "{next:?}");
        assert_eq!(store.balance(&t.id).await.unwrap(), 4_000);

        // A free plan reserves nothing.
        let free = store
            .admit_call(&new_call("free", &t.id, &a.id, "n1"), 10, None)
            .await
            .unwrap();
        assert_eq!(free, Admission::Admitted { alerts: vec![] });
        assert_eq!(store.balance(&t.id).await.unwrap(), 4_000);
        assert_eq!(assert_books_balance(&store, &t.id).await, 96_000);
    })
    .await;
}

#[tokio::test]
async fn a_call_never_answered_gets_its_reservation_back_once() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store.credit(&t.id, 100_000, "topup-1", "").await.unwrap();
        for id in ["refused", "answered", "cancelled"] {
            let admitted = store
                .admit_call(&new_call(id, &t.id, &a.id, "n1"), 10, Some(FIRST))
                .await
                .unwrap();
            assert!(
                matches!(admitted, Admission::Admitted { .. }),
                "{admitted:?}"
            );
        }
        assert_eq!(store.balance(&t.id).await.unwrap(), 10_000);

        // Refused after admission (e.g. CANCEL while being admitted): refunded, once.
        assert_eq!(
            store.refund_unanswered_call("refused").await.unwrap(),
            30_000
        );
        assert_eq!(store.refund_unanswered_call("refused").await.unwrap(), 0);
        let refused = store.get_call("refused").await.unwrap().unwrap();
        assert_eq!((refused.billed_secs, refused.cost_micros), (0, 0));
        assert_eq!(store.call_ledger_total("refused").await.unwrap(), 0);
        assert_eq!(store.balance(&t.id).await.unwrap(), 40_000);

        // An answered call keeps its reservation: the meter settles it.
        store.mark_answered("answered", 1_500).await.unwrap();
        assert_eq!(store.refund_unanswered_call("answered").await.unwrap(), 0);
        assert_eq!(store.balance(&t.id).await.unwrap(), 40_000);

        // A call the meter settled unanswered (refund of everything) is not refunded again.
        let settled = CallSettlement {
            tenant_id: t.id.clone(),
            call_id: "cancelled".into(),
            billed_secs: 0,
            refund_micros: 30_000,
        };
        store.settle_call(&settled).await.unwrap();
        assert_eq!(store.refund_unanswered_call("cancelled").await.unwrap(), 0);
        assert_eq!(store.balance(&t.id).await.unwrap(), 70_000);

        // Calls that paid nothing, or do not exist, are left alone.
        store
            .insert_call(&new_call("at-the-door", &t.id, &a.id, "n1"))
            .await
            .unwrap();
        assert_eq!(
            store.refund_unanswered_call("at-the-door").await.unwrap(),
            0
        );
        assert_eq!(
            store.refund_unanswered_call("no-such-call").await.unwrap(),
            0
        );
        assert_eq!(assert_books_balance(&store, &t.id).await, 30_000);
        assert_eq!(store.balance(&t.id).await.unwrap(), 70_000);
    })
    .await;
}

#[tokio::test]
async fn twenty_admissions_racing_for_five_increments_admit_exactly_five() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store
            .credit(&t.id, 5 * 30_000, "topup-1", "")
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            // Half of them are calls we place, through the outbound admission.
            let call = NewCall {
                direction: if i % 2 == 0 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                },
                ..new_call(&format!("c{i}"), &t.id, &a.id, "n1")
            };
            tasks.push(tokio::spawn(async move {
                match call.direction {
                    Direction::Inbound => store.admit_call(&call, 100, Some(FIRST)).await,
                    Direction::Outbound => {
                        store
                            .admit_outbound_call(&call, 100, 100, Some(FIRST))
                            .await
                    }
                }
            }));
        }
        let mut admitted = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Admission::Admitted { .. } => admitted += 1,
                Admission::Insufficient { balance_micros } => {
                    assert!((0..30_000).contains(&balance_micros), "{balance_micros}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(admitted, 5);
        assert_eq!(store.balance(&t.id).await.unwrap(), 0);
        assert_eq!(store.list_calls(Some(&t.id), 50).await.unwrap().len(), 5);
        assert_eq!(assert_books_balance(&store, &t.id).await, 150_000);
    })
    .await;
}

#[tokio::test]
async fn admissions_and_a_running_meter_share_the_wallet_without_blocking_each_other() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store
            .credit(&t.id, 10_000_000, "topup-1", "")
            .await
            .unwrap();
        store
            .admit_call(&new_call("running", &t.id, &a.id, "n1"), 100, Some(FIRST))
            .await
            .unwrap();
        store.mark_answered("running", 1_500).await.unwrap();
        // The running call's meter buys 6-s increments while 20 INVITEs are admitted: ledger
        // inserts reference the tenant row that each admission locks.
        let meter = {
            let (store, tenant) = (store.clone(), t.id.clone());
            tokio::spawn(async move {
                for n in 1..=20u32 {
                    let charge = tick(&tenant, "running", n, 6_000, 30 + 6 * i64::from(n));
                    let out = store.charge_call(&charge).await.unwrap();
                    assert!(matches!(out, ChargeOutcome::Charged { .. }), "{out:?}");
                }
            })
        };
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            let call = new_call(&format!("c{i}"), &t.id, &a.id, "n1");
            tasks.push(tokio::spawn(async move {
                store.admit_call(&call, 100, Some(FIRST)).await
            }));
        }
        for task in tasks {
            let admitted = task.await.unwrap().unwrap();
            assert!(
                matches!(admitted, Admission::Admitted { .. }),
                "{admitted:?}"
            );
        }
        meter.await.unwrap();
        let spent = 21 * 30_000 + 20 * 6_000;
        assert_eq!(store.balance(&t.id).await.unwrap(), 10_000_000 - spent);
        assert_eq!(assert_books_balance(&store, &t.id).await, spent);
    })
    .await;
}
