//! The meter in virtual time: a simulated wallet answers each charge.

use std::time::{Duration, Instant};

use super::*;

fn plan(rate: i64, inc: u32, min: u32) -> MeterPlan {
    MeterPlan {
        rate_per_minute_micros: rate,
        increment_secs: inc,
        min_billable_secs: min,
    }
}

/// A wallet holding `balance`; the meter runs until `end_at` (caller hangs up) or until it asks
/// for the hang-up. Returns (when the call ended, who ended it, settlement, wallet left,
/// charges made with their times).
struct Run {
    ended_at: Duration,
    by_meter: bool,
    settlement: Settlement,
    balance: i64,
    charges: Vec<(Duration, TickCharge)>,
}

fn run(plan: MeterPlan, balance: i64, end_at: Duration) -> Run {
    drive(Meter::new(plan, LEAD), balance, end_at)
}

/// As [`run`] for a call whose admission paid the first increment: `balance` is what the
/// wallet holds after that payment.
fn run_prepaid(plan: MeterPlan, balance: i64, end_at: Duration) -> Run {
    drive(
        Meter::new(plan, LEAD).with_first_increment_paid(),
        balance,
        end_at,
    )
}

const LEAD: Duration = Duration::from_millis(500);

fn drive(mut meter: Meter, mut balance: i64, end_at: Duration) -> Run {
    let t0 = Instant::now();
    meter.start(t0);
    let mut now = t0;
    let mut charges = Vec::new();
    let mut by_meter = false;
    for _ in 0..10_000 {
        while let Some(event) = meter.poll_event() {
            match event {
                MeterEvent::Charge(c) => {
                    let paid = balance >= c.amount_micros;
                    if paid {
                        balance -= c.amount_micros;
                        charges.push((now - t0, c));
                    }
                    meter.handle_charge_result(now, paid);
                }
                MeterEvent::HangUp => by_meter = true,
            }
        }
        if by_meter {
            break;
        }
        match meter.poll_timeout() {
            Some(at) if at - t0 < end_at => {
                now = at;
                meter.handle_timeout(now);
            }
            _ => {
                now = t0 + end_at;
                break;
            }
        }
    }
    let settlement = meter.settle(now);
    balance += settlement.refund_micros;
    Run {
        ended_at: now - t0,
        by_meter,
        settlement,
        balance,
        charges,
    }
}

#[test]
fn six_second_call_at_600k_per_minute_bills_six_seconds() {
    let r = run(plan(600_000, 1, 0), 1_000_000, Duration::from_millis(6_000));
    assert!(!r.by_meter);
    assert_eq!(r.settlement.billed_secs, 6);
    assert_eq!(r.settlement.cost_micros, 60_000);
    assert_eq!(r.balance, 1_000_000 - 60_000);
    // Each increment is paid half a second before it starts.
    let times: Vec<u128> = r.charges.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, [0, 500, 1_500, 2_500, 3_500, 4_500, 5_500]);
    assert_eq!(
        r.settlement.refund_micros, 10_000,
        "the 7th second was reserved, not used"
    );
}

#[test]
fn a_wallet_for_three_seconds_hangs_up_exactly_when_it_runs_out() {
    let r = run(plan(600_000, 1, 0), 30_000, Duration::from_secs(60));
    assert!(r.by_meter);
    assert_eq!(r.ended_at, Duration::from_secs(3));
    assert_eq!(r.settlement.billed_secs, 3);
    assert_eq!(r.settlement.refund_micros, 0);
    assert_eq!(r.balance, 0);
}

#[test]
fn no_credit_at_all_hangs_up_at_once() {
    let r = run(plan(600_000, 6, 0), 59_999, Duration::from_secs(60));
    assert!(r.by_meter);
    assert_eq!(r.ended_at, Duration::ZERO);
    assert_eq!(r.settlement, Settlement::default());
    assert_eq!(r.balance, 59_999);
}

#[test]
fn six_second_increments_and_a_minimum() {
    // 600k/min, 6-s steps, 30 s minimum: a 40 s call bills 42 s.
    let r = run(plan(600_000, 6, 30), 10_000_000, Duration::from_secs(40));
    assert_eq!(r.charges[0].1.billed_secs_after, 30);
    assert_eq!(r.settlement.billed_secs, 42);
    assert_eq!(r.settlement.cost_micros, 420_000);
    // A 5 s call still bills the 30 s minimum.
    let r = run(plan(600_000, 6, 30), 10_000_000, Duration::from_secs(5));
    assert_eq!(r.settlement.billed_secs, 30);
    assert_eq!(r.settlement.refund_micros, 0);
}

#[test]
fn odd_rates_never_lose_a_micro_unit() {
    for secs in 1..50u64 {
        let r = run(
            plan(20_000, 1, 0),
            10_000_000,
            Duration::from_millis(secs * 1000 - 300),
        );
        let charged: i64 = r.charges.iter().map(|(_, c)| c.amount_micros).sum();
        assert_eq!(
            charged - r.settlement.refund_micros,
            r.settlement.cost_micros
        );
        assert_eq!(r.settlement.cost_micros, plan(20_000, 1, 0).cost_of(secs));
        assert_eq!(r.balance, 10_000_000 - r.settlement.cost_micros);
    }
}

#[test]
fn free_plans_never_charge() {
    let r = run(plan(0, 1, 0), 0, Duration::from_millis(4_200));
    assert!(r.charges.is_empty() && !r.by_meter);
    assert_eq!(r.settlement.billed_secs, 5);
    assert_eq!(r.settlement.cost_micros, 0);
}

#[test]
fn a_late_answer_and_repeated_settle_are_harmless() {
    let t0 = Instant::now();
    let mut meter = Meter::new(plan(600_000, 1, 0), Duration::from_millis(500));
    meter.start(t0);
    let Some(MeterEvent::Charge(c)) = meter.poll_event() else {
        panic!("first charge")
    };
    assert_eq!(c.amount_micros, 10_000);
    meter.handle_charge_result(t0, true);
    meter.handle_timeout(t0); // early: nothing
    assert_eq!(meter.poll_event(), None);
    let first = meter.settle(t0 + Duration::from_millis(800));
    let again = meter.settle(t0 + Duration::from_secs(9));
    assert_eq!(first, again);
    meter.handle_charge_result(t0, true);
    meter.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(meter.poll_event(), None);
    assert_eq!(meter.stats().charged_micros, 10_000);
}

#[test]
fn a_first_increment_paid_at_admission_is_not_bought_again() {
    let p = plan(600_000, 1, 0);
    // The wallet held 1,000,000; admission took the first second.
    let r = run_prepaid(p, 1_000_000 - p.admission_micros(), Duration::from_secs(6));
    assert!(!r.by_meter);
    let ticks: Vec<u32> = r.charges.iter().map(|(_, c)| c.tick).collect();
    assert_eq!(ticks, [1, 2, 3, 4, 5, 6], "tick 0 was the admission's");
    let times: Vec<u128> = r.charges.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, [500, 1_500, 2_500, 3_500, 4_500, 5_500]);
    assert_eq!(r.charges[0].1.billed_secs_after, 2);
    assert_eq!(
        (r.settlement.billed_secs, r.settlement.cost_micros),
        (6, 60_000)
    );
    assert_eq!(r.settlement.refund_micros, 10_000);
    assert_eq!(r.balance, 1_000_000 - 60_000);
}

#[test]
fn a_prepaid_call_with_nothing_more_ends_when_its_first_increment_does() {
    let p = plan(600_000, 6, 10); // 6-s steps, 10 s minimum: 12 s paid at admission
    let r = run_prepaid(p, 59_999, Duration::from_secs(60));
    assert!(r.by_meter);
    assert!(r.charges.is_empty());
    assert_eq!(r.ended_at, Duration::from_secs(12));
    assert_eq!(
        (r.settlement.billed_secs, r.settlement.cost_micros),
        (12, 120_000)
    );
    assert_eq!(r.settlement.refund_micros, 0);
    assert_eq!(r.balance, 59_999);
}

#[test]
fn a_prepaid_minimum_is_followed_by_single_increments() {
    let p = plan(600_000, 6, 30);
    let r = run_prepaid(p, 10_000_000, Duration::from_secs(40));
    assert_eq!(r.charges[0].0, Duration::from_millis(29_500));
    assert_eq!(r.charges[0].1.billed_secs_after, 36);
    assert_eq!(r.settlement.billed_secs, 42);
    let charged: i64 = r.charges.iter().map(|(_, c)| c.amount_micros).sum();
    assert_eq!(
        p.admission_micros() + charged - r.settlement.refund_micros,
        r.settlement.cost_micros
    );
}

#[test]
fn a_call_never_answered_refunds_all_of_its_reservation() {
    let p = plan(20_000, 1, 0);
    let mut meter = Meter::new(p, LEAD).with_first_increment_paid();
    assert_eq!(meter.stats().charged_micros, 334);
    assert_eq!(meter.poll_event(), None, "nothing bought before answer");
    assert_eq!(meter.poll_timeout(), None);
    let settlement = meter.settle(Instant::now());
    assert_eq!(
        settlement,
        Settlement {
            billed_secs: 0,
            cost_micros: 0,
            refund_micros: 334,
        }
    );
    // Free plans paid nothing at admission and charge nothing.
    let r = run_prepaid(plan(0, 1, 0), 0, Duration::from_millis(2_500));
    assert!(r.charges.is_empty() && !r.by_meter);
    assert_eq!(
        r.settlement,
        Settlement {
            billed_secs: 3,
            cost_micros: 0,
            refund_micros: 0
        }
    );
}
