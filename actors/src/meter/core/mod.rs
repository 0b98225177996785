//! The sans-IO meter core: fed `(input, now)`, it asks for charges and says when to hang up.
//!
//! From answer, the meter reserves the first increment (or the minimum), then reserves the next
//! increment a little *before* the reserved time runs out (`lead`), so the caller never talks on
//! unpaid time. When admission already paid the first increment (tick 0, see
//! [`Meter::with_first_increment_paid`]), the meter starts with it reserved and buys tick 1
//! next; a call never answered then settles with all of it refunded. When a charge is declined the call may run to the end of what is paid, and not a
//! millisecond further: the meter asks for the hang-up at that instant. At the end, the billed
//! seconds (rounded up to the increment, never more than reserved) fix the cost, and whatever was
//! reserved beyond it is refunded.
//!
//! Calling protocol (as the other cores): after `start`, `handle_charge_result` or
//! `handle_timeout`, drain [`Meter::poll_event`], then re-arm the timer from
//! [`Meter::poll_timeout`]. A charge asked for must be answered before the next one is asked.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::plan::MeterPlan;

/// One charge the meter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickCharge {
    /// 0, 1, 2…
    pub tick: u32,
    /// Amount in micro-units (> 0).
    pub amount_micros: i64,
    /// Seconds reserved in total once it is paid.
    pub billed_secs_after: u64,
}

/// What the meter asks of its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterEvent {
    /// Charge the wallet, then report with [`Meter::handle_charge_result`].
    Charge(TickCharge),
    /// The paid time is over: end the call now (`credit_exhausted`).
    HangUp,
}

/// The end of the call's billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Seconds billed.
    pub billed_secs: u64,
    /// What those seconds cost.
    pub cost_micros: i64,
    /// Reserved but unused, to give back.
    pub refund_micros: i64,
}

/// Counters for the live call view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterStats {
    /// Charged so far.
    pub charged_micros: i64,
    /// Seconds paid for so far.
    pub reserved_secs: u64,
    /// Whether a charge was declined.
    pub exhausted: bool,
}

/// The meter of one call.
#[derive(Debug)]
pub struct Meter {
    plan: MeterPlan,
    lead: Duration,
    answered_at: Option<Instant>,
    reserved_secs: u64,
    charged_micros: i64,
    next_tick: u32,
    in_flight: Option<TickCharge>,
    next_charge_at: Option<Instant>,
    hang_up_at: Option<Instant>,
    exhausted: bool,
    settlement: Option<Settlement>,
    events: VecDeque<MeterEvent>,
}

impl Meter {
    /// A meter for `plan`. It reserves each next increment `lead` before the paid time ends
    /// (capped at half an increment).
    pub fn new(plan: MeterPlan, lead: Duration) -> Self {
        let half_increment = Duration::from_millis(plan.increment_secs() * 500);
        Meter {
            plan,
            lead: lead.min(half_increment),
            answered_at: None,
            reserved_secs: 0,
            charged_micros: 0,
            next_tick: 0,
            in_flight: None,
            next_charge_at: None,
            hang_up_at: None,
            exhausted: false,
            settlement: None,
            events: VecDeque::new(),
        }
    }

    /// The meter of a call whose first charge (tick 0: the first increment or the minimum,
    /// [`MeterPlan::admission_micros`]) was paid when the call was admitted. Until answer it
    /// holds that reservation (settled before answer, it is all refunded); from answer it buys
    /// the next increment `lead` before the paid time runs out, starting at tick 1. A free plan
    /// paid nothing and is unchanged. Call it before [`Meter::start`].
    pub fn with_first_increment_paid(mut self) -> Self {
        if !self.plan.is_free() && self.next_tick == 0 && self.answered_at.is_none() {
            self.reserved_secs = self.plan.first_reservation_secs();
            self.charged_micros = self.plan.admission_micros();
            self.next_tick = 1;
        }
        self
    }

    /// The call was answered at `now`: billing starts.
    pub fn start(&mut self, now: Instant) {
        if self.answered_at.is_some() || self.settlement.is_some() {
            return;
        }
        self.answered_at = Some(now);
        if self.plan.is_free() {
            return;
        }
        if self.reserved_secs == 0 {
            self.ask(self.plan.first_reservation_secs());
        } else {
            self.schedule_next_charge(now);
        }
    }

    /// Arms the next charge `lead` before the paid time runs out (at once if that is past).
    fn schedule_next_charge(&mut self, now: Instant) {
        let paid_until = self.paid_until().expect("charges start after answer");
        self.next_charge_at = Some(paid_until.checked_sub(self.lead).unwrap_or(now).max(now));
    }

    fn ask(&mut self, secs_after: u64) {
        let charge = TickCharge {
            tick: self.next_tick,
            amount_micros: self.plan.cost_of(secs_after) - self.plan.cost_of(self.reserved_secs),
            billed_secs_after: secs_after,
        };
        self.next_charge_at = None;
        self.in_flight = Some(charge);
        self.events.push_back(MeterEvent::Charge(charge));
    }

    fn paid_until(&self) -> Option<Instant> {
        self.answered_at
            .map(|at| at + Duration::from_secs(self.reserved_secs))
    }

    /// The answer to the charge in flight: paid (`true`) or declined (`false`: no credit, or
    /// the wallet could not be reached).
    pub fn handle_charge_result(&mut self, now: Instant, paid: bool) {
        let Some(charge) = self.in_flight.take() else {
            return;
        };
        if self.settlement.is_some() {
            return;
        }
        if paid {
            self.next_tick += 1;
            self.reserved_secs = charge.billed_secs_after;
            self.charged_micros += charge.amount_micros;
            self.schedule_next_charge(now);
            return;
        }
        self.exhausted = true;
        match self.paid_until() {
            Some(until) if until > now => self.hang_up_at = Some(until),
            _ => self.events.push_back(MeterEvent::HangUp),
        }
    }

    /// Runs what is due at `now`. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.settlement.is_some() {
            return;
        }
        if self.hang_up_at.is_some_and(|at| at <= now) {
            self.hang_up_at = None;
            self.events.push_back(MeterEvent::HangUp);
        }
        if self.in_flight.is_none() && self.next_charge_at.is_some_and(|at| at <= now) {
            self.ask(self.reserved_secs + self.plan.increment_secs());
        }
    }

    /// The next thing the driver must do.
    pub fn poll_event(&mut self) -> Option<MeterEvent> {
        self.events.pop_front()
    }

    /// When [`Meter::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_charge_at, self.hang_up_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> MeterStats {
        MeterStats {
            charged_micros: self.charged_micros,
            reserved_secs: self.reserved_secs,
            exhausted: self.exhausted,
        }
    }

    /// Paid seconds not yet used at `now` (0 before answer or for free plans).
    pub fn seconds_left(&self, now: Instant) -> u64 {
        self.paid_until()
            .map(|until| until.saturating_duration_since(now).as_secs())
            .unwrap_or(0)
    }

    /// Ends billing at `now` and returns the settlement; later calls return the same.
    pub fn settle(&mut self, now: Instant) -> Settlement {
        if let Some(settlement) = self.settlement {
            return settlement;
        }
        self.next_charge_at = None;
        self.hang_up_at = None;
        self.in_flight = None;
        let used_ms = self
            .answered_at
            .map(|at| now.saturating_duration_since(at).as_millis() as u64)
            .unwrap_or(0);
        let billable = self.plan.billable_secs(used_ms);
        let billed_secs = if self.plan.is_free() {
            billable
        } else {
            billable.min(self.reserved_secs)
        };
        let cost_micros = self.plan.cost_of(billed_secs);
        let settlement = Settlement {
            billed_secs,
            cost_micros,
            refund_micros: self.charged_micros - cost_micros,
        };
        self.settlement = Some(settlement);
        settlement
    }
}

#[cfg(test)]
mod tests;
