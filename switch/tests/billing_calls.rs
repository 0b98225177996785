//! Billing end to end: SIPp calls the real switch binary; the wallet, the ledger and the call
//! records must agree to the micro-unit, on SQLite and on PostgreSQL, through a kill -9 too.

mod common;

use std::process::Command;
use std::time::Duration;

use actors::spec::AgentSpec;
use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::{CallRecord, CallState, LedgerKind, NewTenant, Store};

const RATE: i64 = 600_000; // 10,000 micro-units per second
const NUMBER: &str = "2000";

/// A throwaway PostgreSQL database, dropped with the guard.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        let name = format!("switch_it_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"));
        PgDatabase { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect(
            "psql runs (PostgreSQL client; the storage tests need the server on 127.0.0.1:5432)",
        );
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The databases every billing test runs on.
fn backends(dir: &std::path::Path) -> Vec<(String, Option<PgDatabase>)> {
    let pg = PgDatabase::create();
    vec![
        (format!("sqlite://{}/billing.db", dir.display()), None),
        (pg.url(), Some(pg)),
    ]
}

/// A tenant with `credit` on plan 600,000/min in 1-s steps, number 2000 routed to the demo agent.
async fn tenant(url: &str, credit: i64, cap: i32, paused: bool) -> (Store, String) {
    tenant_with_agent(url, credit, cap, paused, &AgentSpec::demo()).await
}

/// As [`tenant`], with number 2000 routed to an agent of `spec`.
async fn tenant_with_agent(
    url: &str,
    credit: i64,
    cap: i32,
    paused: bool,
    spec: &AgentSpec,
) -> (Store, String) {
    let store = Store::connect(url, 4).await.unwrap();
    let tenant = store
        .create_tenant(&NewTenant {
            name: "Billing test".into(),
            rate_per_minute_micros: RATE,
            billing_increment_secs: 1,
            min_billable_secs: 0,
            max_concurrent_calls: cap,
            paused,
        })
        .await
        .unwrap();
    let spec = serde_json::to_string(spec).unwrap();
    let agent = store
        .create_agent(&tenant.id, "agent", &spec)
        .await
        .unwrap();
    store
        .create_number(&tenant.id, NUMBER, &agent.id)
        .await
        .unwrap();
    if credit > 0 {
        store
            .credit(&tenant.id, credit, "topup-1", "test credit")
            .await
            .unwrap();
    }
    (store, tenant.id)
}

fn start(url: &str) -> SwitchProcess {
    SwitchProcess::start(&[("SWITCH_DATABASE_URL", url), ("SWITCH_DEMO_SEED", "false")])
}

async fn ended_calls(store: &Store, tenant: &str, n: usize) -> Vec<CallRecord> {
    let done = eventually(Duration::from_secs(10), || async {
        let calls = store.list_calls(Some(tenant), 100).await.unwrap();
        calls.len() == n
            && calls
                .iter()
                .all(|c| matches!(c.state, CallState::Ended | CallState::Refused))
    })
    .await;
    let calls = store.list_calls(Some(tenant), 100).await.unwrap();
    assert!(done, "{calls:#?}");
    calls
}

/// The invariants: each call's record equals its ledger entries, and the wallet equals the
/// sum of the tenant's ledger; returns the total the calls cost.
async fn assert_books_balance(store: &Store, tenant: &str, credit: i64) -> i64 {
    let mut spent = 0;
    for call in store.list_calls(Some(tenant), 100).await.unwrap() {
        assert_eq!(
            call.cost_micros,
            -store.call_ledger_total(&call.id).await.unwrap(),
            "{call:?}"
        );
        assert_eq!(call.cost_micros, call.billed_secs * 10_000, "{call:?}");
        spent += call.cost_micros;
    }
    let balance = store.balance(tenant).await.unwrap();
    let ledger: i64 = store
        .ledger(tenant)
        .await
        .unwrap()
        .iter()
        .map(|e| e.amount_micros)
        .sum();
    assert_eq!(balance, ledger);
    assert_eq!(balance, credit - spent);
    assert!(balance >= 0);
    spent
}

fn sipp(run: SippRun) -> loadtests::SippReport {
    run.run().expect("sipp ran")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_six_second_call_is_billed_per_second_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    for (url, _pg) in backends(dir.path()) {
        let (store, tenant) = tenant(&url, 10_000_000, 10, false).await;
        let switch = start(&url);
        let sip = switch.sip;
        let report = tokio::task::spawn_blocking(move || {
            sipp(
                SippRun::uac_basic()
                    .target(sip)
                    .service(NUMBER)
                    .call_duration(Duration::from_secs(6))
                    .timeout(Duration::from_secs(30)),
            )
        })
        .await
        .unwrap();
        assert!(report.all_successful(1), "{report:?}\n{}", switch.log());
        let calls = ended_calls(&store, &tenant, 1).await;
        let call = &calls[0];
        assert!((6..=7).contains(&call.billed_secs), "{url}: {call:?}");
        assert_eq!(call.hangup_by.as_deref(), Some("caller"));
        let spent = assert_books_balance(&store, &tenant, 10_000_000).await;
        assert_eq!(spent, call.billed_secs * 10_000);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_who_cancels_while_it_rings_gets_the_first_increment_back() {
    let dir = tempfile::tempdir().unwrap();
    let slow = AgentSpec {
        answer_after_ms: 5_000,
        ..AgentSpec::demo()
    };
    for (url, _pg) in backends(dir.path()) {
        let credit = 10_000_000;
        let (store, tenant) = tenant_with_agent(&url, credit, 10, false, &slow).await;
        let switch = start(&url);
        let sip = switch.sip;
        let report = tokio::task::spawn_blocking(move || {
            sipp(
                SippRun::scenario(&loadtests::scenario_file("uac_cancel.xml"))
                    .target(sip)
                    .service(NUMBER)
                    .calls(2)
                    .rate(5.0)
                    // Rings this long after the 180, well before the agent answers.
                    .call_duration(Duration::from_millis(300))
                    .timeout(Duration::from_secs(30)),
            )
        })
        .await
        .unwrap();
        assert!(report.all_successful(2), "{report:?}\n{}", switch.log());
        for call in ended_calls(&store, &tenant, 2).await {
            assert_eq!(call.hangup_cause.as_deref(), Some("cancelled"), "{call:?}");
            assert!(call.answered_at.is_none(), "{call:?}");
            assert_eq!(
                (call.billed_secs, call.cost_micros),
                (0, 0),
                "{url}: {call:?}"
            );
        }
        // Each admission paid the first second; each settlement gave it back.
        let kinds: Vec<LedgerKind> = store
            .ledger(&tenant)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.call_id.is_some())
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == LedgerKind::Refund).count(),
            2,
            "{kinds:?}"
        );
        assert_eq!(assert_books_balance(&store, &tenant, credit).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_switch_hangs_up_when_the_credit_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/billing.db", dir.path().display());
    // 3 seconds of credit.
    let (store, tenant) = tenant(&url, 30_000, 10, false).await;
    let switch = start(&url);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        sipp(
            SippRun::scenario(&loadtests::scenario_file("uac_remote_bye.xml"))
                .target(sip)
                .service(NUMBER)
                .timeout(Duration::from_secs(30)),
        )
    })
    .await
    .unwrap();
    assert!(
        report.all_successful(1),
        "the switch's BYE came: {report:?}\n{}",
        switch.log()
    );
    let calls = ended_calls(&store, &tenant, 1).await;
    let call = &calls[0];
    assert_eq!(call.hangup_by.as_deref(), Some("switch"), "{call:?}");
    assert_eq!(call.hangup_cause.as_deref(), Some("credit_exhausted"));
    assert_eq!((call.billed_secs, call.cost_micros), (3, 30_000));
    // BYE within one increment of the money running out (3 s after answer).
    let talked = call.ended_at.unwrap() - call.answered_at.unwrap();
    assert!((2_900..=4_000).contains(&talked), "talked {talked} ms");
    assert_books_balance(&store, &tenant, 30_000).await;
    assert_eq!(store.balance(&tenant).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_twenty_live_calls_then_restart_closes_every_record() {
    let dir = tempfile::tempdir().unwrap();
    for (url, _pg) in backends(dir.path()) {
        let credit = 10_000_000;
        let (store, tenant) = tenant(&url, credit, 50, false).await;
        let switch = start(&url);
        let sip = switch.sip;
        let caller = std::thread::spawn(move || {
            // 20 calls that would last 60 s; SIPp gives up once the switch is gone.
            SippRun::uac_basic()
                .target(sip)
                .service(NUMBER)
                .calls(20)
                .rate(20.0)
                .call_duration(Duration::from_secs(60))
                .timeout(Duration::from_secs(12))
                .run()
        });
        let live = eventually(Duration::from_secs(10), || async {
            let calls = store.list_calls(Some(&tenant), 100).await.unwrap();
            calls.len() == 20
                && calls
                    .iter()
                    .all(|c| c.state == CallState::Live && c.billed_secs >= 2)
        })
        .await;
        assert!(
            live,
            "20 live calls billed: {:#?}\n{}",
            store.list_calls(Some(&tenant), 100).await.unwrap(),
            switch.log()
        );
        drop(switch); // SIGKILL: no BYE, no settlement, no record written at the end
        let _ = caller.join();
        let open = store.list_calls(Some(&tenant), 100).await.unwrap();
        assert!(
            open.iter().all(|c| c.state == CallState::Live),
            "killed mid-call"
        );

        let restarted = start(&url);
        let calls = ended_calls(&store, &tenant, 20).await;
        for call in &calls {
            assert_eq!(
                call.hangup_cause.as_deref(),
                Some("switch_restart"),
                "{call:?}"
            );
            assert_eq!(
                call.ended_at, call.last_tick_at,
                "ended at the last meter tick"
            );
            assert!(call.billed_secs >= 2);
        }
        let spent = assert_books_balance(&store, &tenant, credit).await;
        assert!(spent > 0);
        // A second restart changes nothing: nothing is charged twice.
        drop(restarted);
        let again = start(&url);
        let _ = again.http_get("/health");
        assert_eq!(assert_books_balance(&store, &tenant, credit).await, spent);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admission_refuses_with_the_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/billing.db", dir.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    drop(store);
    for (credit, cap, paused, cause, count) in [
        (0, 10, false, "credit_exhausted", 1),
        (10_000_000, 10, true, "tenant_paused", 1),
    ] {
        let sub = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/billing.db", sub.path().display());
        let (store, tenant) = tenant(&url, credit, cap, paused).await;
        let switch = start(&url);
        let sip = switch.sip;
        let report = tokio::task::spawn_blocking(move || {
            sipp(
                SippRun::uac_basic()
                    .target(sip)
                    .service(NUMBER)
                    .calls(count)
                    .timeout(Duration::from_secs(20)),
            )
        })
        .await
        .unwrap();
        assert_eq!(
            (report.successful, report.failed),
            (0, 1),
            "{cause}: {report:?}"
        );
        let calls = ended_calls(&store, &tenant, 1).await;
        assert_eq!(calls[0].state, CallState::Refused);
        assert_eq!(calls[0].hangup_cause.as_deref(), Some(cause));
    }
    // Cap of 1: a second call while the first is live is refused 486.
    let (store, tenant) = tenant(&url, 10_000_000, 1, false).await;
    let switch = start(&url);
    let sip = switch.sip;
    let first = std::thread::spawn(move || {
        SippRun::uac_basic()
            .target(sip)
            .service(NUMBER)
            .call_duration(Duration::from_secs(4))
            .timeout(Duration::from_secs(20))
            .run()
    });
    assert!(
        eventually(Duration::from_secs(5), || async {
            store
                .list_calls(Some(&tenant), 10)
                .await
                .unwrap()
                .iter()
                .any(|c| c.state == CallState::Live)
        })
        .await
    );
    let second = tokio::task::spawn_blocking(move || {
        sipp(
            SippRun::uac_basic()
                .target(sip)
                .service(NUMBER)
                .timeout(Duration::from_secs(20)),
        )
    })
    .await
    .unwrap();
    assert_eq!(second.failed, 1, "{second:?}");
    assert!(first.join().unwrap().unwrap().all_successful(1));
    let calls = ended_calls(&store, &tenant, 2).await;
    let refused: Vec<_> = calls
        .iter()
        .filter(|c| c.state == CallState::Refused)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].hangup_cause.as_deref(),
        Some("concurrent_call_limit")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_calls_on_a_wallet_that_pays_for_part_of_them() {
    let pg = PgDatabase::create();
    let url = pg.url();
    // 60 call-seconds for 50 calls that would each talk until the switch hangs up.
    let credit = 600_000;
    let (store, tenant) = tenant(&url, credit, 100, false).await;
    let base = 50_000 + (rand::random::<u16>() % 40) * 200;
    let (min, max) = (base.to_string(), (base + 199).to_string());
    let switch = SwitchProcess::start(&[
        ("SWITCH_DATABASE_URL", url.as_str()),
        ("SWITCH_DEMO_SEED", "false"),
        ("SWITCH_RTP_PORT_MIN", min.as_str()),
        ("SWITCH_RTP_PORT_MAX", max.as_str()),
    ]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        sipp(
            SippRun::scenario(&loadtests::scenario_file("uac_remote_bye.xml"))
                .target(sip)
                .service(NUMBER)
                .calls(50)
                .rate(100.0)
                .timeout(Duration::from_secs(40)),
        )
    })
    .await
    .unwrap();
    // Admission reserves each call's first second: once the answered calls' meters have bought
    // the rest of the credit, INVITEs still arriving are refused 402 (a loaded machine spreads
    // the 50 INVITEs out); every call answered is paid.
    assert_eq!(
        report.successful + report.failed,
        50,
        "every call was ended by the switch or refused: {report:?}"
    );
    let calls = ended_calls(&store, &tenant, 50).await;
    let (answered, refused): (Vec<_>, Vec<_>) =
        calls.iter().partition(|c| c.state != CallState::Refused);
    assert_eq!(refused.len() as u64, report.failed, "{report:?}");
    assert!(!answered.is_empty());
    for call in &refused {
        assert_eq!(call.billed_secs, 0, "{call:?}");
        assert_eq!(call.hangup_cause.as_deref(), Some("credit_exhausted"));
    }
    for call in &answered {
        assert_eq!(
            call.hangup_cause.as_deref(),
            Some("credit_exhausted"),
            "{call:?}"
        );
        // Admission paid each call's first second: every call was answered and billed at
        // least that, however late it was answered.
        assert!(call.answered_at.is_some(), "{call:?}");
        assert!(call.billed_secs >= 1, "{call:?}");
    }
    // The wallet lost exactly what the calls were charged, and no more than it held.
    let spent = assert_books_balance(&store, &tenant, credit).await;
    assert_eq!(spent, credit);
    assert_eq!(store.balance(&tenant).await.unwrap(), 0);
    let billed: i64 = calls.iter().map(|c| c.billed_secs).sum();
    assert_eq!(billed, 60);
}
