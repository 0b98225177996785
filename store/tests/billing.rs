//! Billing writes on SQLite and PostgreSQL: admission under the concurrent-call cap, meter
//! ticks, settlement, crash recovery; and the invariant that a wallet equals its ledger and a
//! call record equals its call's entries.

mod common;

use common::{Ctx, ledger_sum, new_call, on_both, tenant_with_agent, tick};
use store::{
    Admission, AlertKind, CallSettlement, ChargeOutcome, Direction, NewCall, OutboundPolicy,
    Reservation, StoreError,
};

#[tokio::test]
async fn ticks_settle_and_agree_with_the_ledger() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store.credit(&t.id, 100_000, "topup-1", "").await.unwrap();
        assert_eq!(
            store
                .admit_call(&new_call("c1", &t.id, &a.id, "n1"), 5, None)
                .await
                .unwrap(),
            Admission::Admitted { alerts: vec![] }
        );
        for n in 0..7 {
            let out = store
                .charge_call(&tick(&t.id, "c1", n, 10_000, i64::from(n) + 1))
                .await
                .unwrap();
            assert!(matches!(out, ChargeOutcome::Charged { .. }), "{out:?}");
        }
        // A retried tick charges nothing.
        let again = store
            .charge_call(&tick(&t.id, "c1", 6, 10_000, 7))
            .await
            .unwrap();
        assert!(matches!(again, ChargeOutcome::AlreadyCharged(_)));
        assert_eq!(store.balance(&t.id).await.unwrap(), 30_000);

        // 7 s reserved, 6 s used: refund one second, twice asked, once done.
        let settle = CallSettlement {
            tenant_id: t.id.clone(),
            call_id: "c1".into(),
            billed_secs: 6,
            refund_micros: 10_000,
        };
        store.settle_call(&settle).await.unwrap();
        store.settle_call(&settle).await.unwrap();
        let call = store.get_call("c1").await.unwrap().unwrap();
        assert_eq!((call.billed_secs, call.cost_micros), (6, 60_000));
        assert_eq!(store.call_ledger_total("c1").await.unwrap(), -60_000);
        assert_eq!(store.balance(&t.id).await.unwrap(), 40_000);
        assert_eq!(ledger_sum(&store, &t.id).await, 40_000);
    })
    .await;
}

#[tokio::test]
async fn insufficient_balance_charges_nothing_and_alerts() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store.credit(&t.id, 100_000, "topup-1", "").await.unwrap();
        store
            .admit_call(&new_call("c1", &t.id, &a.id, "n1"), 5, None)
            .await
            .unwrap();
        let mut alerts = Vec::new();
        for n in 0..10 {
            match store
                .charge_call(&tick(&t.id, "c1", n, 10_000, i64::from(n) + 1))
                .await
                .unwrap()
            {
                ChargeOutcome::Charged { alerts: a, .. } => {
                    alerts.extend(a.into_iter().map(|a| a.kind))
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            alerts,
            [AlertKind::Used75, AlertKind::Used90, AlertKind::Empty]
        );
        let out = store
            .charge_call(&tick(&t.id, "c1", 10, 10_000, 11))
            .await
            .unwrap();
        let ChargeOutcome::Insufficient {
            balance_micros,
            alert,
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!((balance_micros, alert.kind), (0, AlertKind::Empty));
        assert_eq!(store.get_call("c1").await.unwrap().unwrap().billed_secs, 10);
        assert_eq!(ledger_sum(&store, &t.id).await, 0);
    })
    .await;
}

#[tokio::test]
async fn admission_respects_the_cap_under_concurrency() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = store.clone();
            let c = new_call(&format!("c{i}"), &t.id, &a.id, "n1");
            tasks.push(tokio::spawn(
                async move { store.admit_call(&c, 5, None).await },
            ));
        }
        let mut admitted = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Admission::Admitted { .. } => admitted += 1,
                Admission::AtCapacity { live } => assert!(live >= 5),
                other => panic!("inbound admission answered {other:?}"),
            }
        }
        assert_eq!(admitted, 5);
        assert_eq!(store.list_calls(Some(&t.id), 50).await.unwrap().len(), 5);
    })
    .await;
}

#[tokio::test]
async fn outbound_admission_also_respects_the_outbound_cap() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        let outbound = |id: &str| NewCall {
            direction: Direction::Outbound,
            ..new_call(id, &t.id, &a.id, "n1")
        };
        for id in ["o1", "o2"] {
            let admitted = store
                .admit_outbound_call(&outbound(id), 10, 2, None)
                .await
                .unwrap();
            assert!(matches!(admitted, Admission::Admitted { .. }));
        }
        let third = store
            .admit_outbound_call(&outbound("o3"), 10, 2, None)
            .await
            .unwrap();
        assert_eq!(third, Admission::OutboundAtCapacity { live: 2 });
        // Inbound calls count against the tenant's cap only.
        let inbound = store
            .admit_call(&new_call("i1", &t.id, &a.id, "n1"), 10, None)
            .await;
        assert!(matches!(inbound.unwrap(), Admission::Admitted { .. }));
        let full = store
            .admit_outbound_call(&outbound("o4"), 3, 5, None)
            .await
            .unwrap();
        assert_eq!(full, Admission::AtCapacity { live: 3 });
    })
    .await;
}

#[tokio::test]
async fn outbound_policies_are_stored_per_tenant() {
    on_both(|Ctx { store, .. }| async move {
        let (t, _) = tenant_with_agent(&store, "Acme").await;
        assert_eq!(store.outbound_policy(&t.id).await.unwrap(), None);
        let mut policy = OutboundPolicy {
            tenant_id: String::new(),
            allowed_prefixes: vec!["+1".into(), "44".into()],
            max_cps: 2,
            max_concurrent: 3,
            updated_at: 0,
        };
        let stored = store.set_outbound_policy(&t.id, &policy).await.unwrap();
        assert_eq!(stored.tenant_id, t.id);
        policy.max_cps = 7;
        store.set_outbound_policy(&t.id, &policy).await.unwrap();
        let read = store.outbound_policy(&t.id).await.unwrap().unwrap();
        assert_eq!((read.max_cps, read.max_concurrent), (7, 3));
        assert_eq!(read.allowed_prefixes, ["+1", "44"]);
        assert!(read.allows("+4420123"));
        let missing = store.set_outbound_policy("no-such-tenant", &policy).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound { .. })),
            "{missing:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_calls_on_one_wallet_never_overdraw() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        // 25 increments of credit for 10 calls wanting 5 increments each.
        store.credit(&t.id, 250_000, "topup-1", "").await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let store = store.clone();
            let (tenant, agent) = (t.id.clone(), a.id.clone());
            tasks.push(tokio::spawn(async move {
                let id = format!("c{i}");
                store
                    .admit_call(&new_call(&id, &tenant, &agent, "n1"), 100, None)
                    .await
                    .unwrap();
                let mut paid = 0;
                for n in 0..5 {
                    match store
                        .charge_call(&tick(&tenant, &id, n, 10_000, i64::from(n) + 1))
                        .await
                        .unwrap()
                    {
                        ChargeOutcome::Charged { .. } => paid += 1,
                        ChargeOutcome::Insufficient { .. } => break,
                        other => panic!("{other:?}"),
                    }
                }
                paid
            }));
        }
        let mut paid = 0;
        for task in tasks {
            paid += task.await.unwrap();
        }
        assert_eq!(paid, 25);
        assert_eq!(store.balance(&t.id).await.unwrap(), 0);
        assert_eq!(ledger_sum(&store, &t.id).await, 0);
        let mut charged = 0;
        for call in store.list_calls(Some(&t.id), 50).await.unwrap() {
            assert_eq!(
                call.cost_micros,
                -store.call_ledger_total(&call.id).await.unwrap()
            );
            charged += call.cost_micros;
        }
        assert_eq!(charged, 250_000);
    })
    .await;
}

#[tokio::test]
async fn recovery_closes_only_this_nodes_open_calls_at_their_last_tick() {
    on_both(|Ctx { store, .. }| async move {
        let (t, a) = tenant_with_agent(&store, "Acme").await;
        store.credit(&t.id, 100_000, "topup-1", "").await.unwrap();
        // Each admission pays the first second (tick 0).
        let first_second = Some(Reservation {
            amount_micros: 10_000,
            billed_secs: 1,
        });
        for (id, node) in [("mine", "n1"), ("ringing", "n1"), ("theirs", "n2")] {
            let admitted = store
                .admit_call(&new_call(id, &t.id, &a.id, node), 9, first_second)
                .await
                .unwrap();
            assert!(
                matches!(admitted, Admission::Admitted { .. }),
                "{admitted:?}"
            );
        }
        store.mark_answered("mine", 1_500).await.unwrap();
        for n in 1..3 {
            store
                .charge_call(&tick(&t.id, "mine", n, 10_000, i64::from(n) + 1))
                .await
                .unwrap();
        }
        assert_eq!(store.balance(&t.id).await.unwrap(), 50_000);
        let closed = store.recover_open_calls("n1").await.unwrap();
        let mut ids: Vec<_> = closed.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["mine", "ringing"]);
        let mine = store.get_call("mine").await.unwrap().unwrap();
        assert_eq!(mine.ended_at, Some(4_000), "the last tick");
        assert_eq!((mine.billed_secs, mine.cost_micros), (3, 30_000));
        assert_eq!(mine.hangup_cause.as_deref(), Some("switch_restart"));
        // The call that never got answered has its reservation back.
        let ringing = store.get_call("ringing").await.unwrap().unwrap();
        assert_eq!((ringing.billed_secs, ringing.cost_micros), (0, 0));
        assert_eq!(store.call_ledger_total("ringing").await.unwrap(), 0);
        assert_eq!(ringing.ended_at, Some(1_000), "when it started");
        let theirs = store.get_call("theirs").await.unwrap().unwrap();
        assert_eq!((theirs.ended_at, theirs.cost_micros), (None, 10_000));
        // Recovery twice changes nothing more.
        assert!(store.recover_open_calls("n1").await.unwrap().is_empty());
        assert_eq!(store.balance(&t.id).await.unwrap(), 60_000);
        assert_eq!(ledger_sum(&store, &t.id).await, 60_000);
        // A tick of a recovered call cannot charge.
        assert!(matches!(
            store.charge_call(&tick(&t.id, "mine", 3, 10_000, 4)).await,
            Err(StoreError::Conflict { .. })
        ));
    })
    .await;
}
