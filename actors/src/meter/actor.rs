//! The meter actor: drives the meter core for one call, charging through the [`Charger`] and
//! asking its call actor to hang up when the paid time is over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::charger::{ChargeResult, Charger};
use super::core::{Meter, MeterEvent, MeterStats, Settlement};
use super::plan::MeterPlan;
use crate::call::{CallMsg, ChildContext};
use crate::describe::ActorView;
use crate::outcome::HangupBy;
use crate::registry::LiveStats;

/// Tries of one charge before the call is treated as unpayable.
const CHARGE_TRIES: u32 = 3;
/// How long before the paid time ends the next increment is bought.
const LEAD: Duration = Duration::from_millis(500);

/// Messages of the meter actor.
#[derive(Debug)]
pub enum MeterMsg {
    /// The call was answered: billing starts.
    Start,
    /// A timer armed from the core's deadline.
    Tick,
    /// End billing; replies with the settlement once it is written.
    Settle(RpcReplyPort<Settlement>),
    /// Counters so far.
    Stats(RpcReplyPort<MeterStats>),
    /// The live view of this actor.
    Describe(RpcReplyPort<ActorView>),
}

/// Arguments of the meter actor.
pub struct MeterArgs {
    /// Call id, call actor and mailbox counter.
    pub ctx: ChildContext,
    /// The paying tenant.
    pub tenant_id: String,
    /// Its plan.
    pub plan: MeterPlan,
    /// The wallet.
    pub charger: Arc<dyn Charger>,
    /// Admission paid the first increment (tick 0): the meter does not buy it again.
    pub first_increment_paid: bool,
    /// Where listings read what was charged.
    pub stats: Arc<LiveStats>,
}

impl std::fmt::Debug for MeterArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeterArgs")
            .field("call_id", &self.ctx.call_id)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// State of the meter actor.
#[derive(Debug)]
pub struct MeterState {
    args: MeterArgs,
    meter: Meter,
    timer: Option<JoinHandle<Result<(), ractor::MessagingErr<MeterMsg>>>>,
    armed_for: Option<Instant>,
}

/// The meter actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterActor;

impl MeterState {
    /// Runs the core's events to completion, then re-arms the one timer.
    async fn drive(&mut self, myself: &ActorRef<MeterMsg>) {
        while let Some(event) = self.meter.poll_event() {
            match event {
                MeterEvent::Charge(charge) => {
                    let paid = self.charge(&charge).await;
                    self.meter.handle_charge_result(Instant::now(), paid);
                    self.publish_stats();
                }
                MeterEvent::HangUp => {
                    info!(call_id = %self.args.ctx.call_id, "credit exhausted: ending the call");
                    let _ = self.args.ctx.call.cast(CallMsg::Hangup {
                        by: HangupBy::Switch,
                        cause: "credit_exhausted".into(),
                    });
                }
            }
        }
        let next = self.meter.poll_timeout();
        if next != self.armed_for {
            if let Some(timer) = self.timer.take() {
                timer.abort();
            }
            self.armed_for = next;
            if let Some(at) = next {
                let wait = at.saturating_duration_since(Instant::now());
                self.timer = Some(myself.send_after(wait, || MeterMsg::Tick));
            }
        }
    }

    /// Tells listings what was charged so far and until when the call is paid.
    fn publish_stats(&self) {
        let left_ms = self.meter.seconds_left(Instant::now()) as i64 * 1000;
        let now_ms = crate::outcome::unix_ms(std::time::SystemTime::now());
        self.args
            .stats
            .set_charged(self.meter.stats().charged_micros, now_ms + left_ms);
    }

    async fn charge(&self, charge: &super::core::TickCharge) -> bool {
        for attempt in 1..=CHARGE_TRIES {
            match self
                .args
                .charger
                .charge(&self.args.ctx.call_id, &self.args.tenant_id, charge)
                .await
            {
                Ok(ChargeResult::Paid) => return true,
                Ok(ChargeResult::Insufficient) => return false,
                Err(err) if attempt < CHARGE_TRIES => {
                    warn!(call_id = %self.args.ctx.call_id, %err, attempt, "charge failed, retrying");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(err) => {
                    warn!(call_id = %self.args.ctx.call_id, %err, "charge failed: treating the call as unpaid");
                    return false;
                }
            }
        }
        false
    }
}

impl Actor for MeterActor {
    type Msg = MeterMsg;
    type State = MeterState;
    type Arguments = MeterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<MeterMsg>,
        args: MeterArgs,
    ) -> Result<MeterState, ActorProcessingErr> {
        let meter = Meter::new(args.plan, LEAD);
        let meter = if args.first_increment_paid {
            meter.with_first_increment_paid()
        } else {
            meter
        };
        Ok(MeterState {
            meter,
            args,
            timer: None,
            armed_for: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<MeterMsg>,
        msg: MeterMsg,
        state: &mut MeterState,
    ) -> Result<(), ActorProcessingErr> {
        state.args.ctx.depth.taken();
        match msg {
            MeterMsg::Describe(reply) => {
                let stats = state.meter.stats();
                let view = ActorView {
                    kind: "meter",
                    name: myself.get_name().unwrap_or_default(),
                    state: if stats.exhausted {
                        "exhausted"
                    } else if stats.reserved_secs > 0 {
                        "charging"
                    } else {
                        "idle"
                    }
                    .into(),
                    restarts: 0,
                    mailbox: state.args.ctx.depth.get(),
                    stats: serde_json::json!({
                        "rate_per_minute_micros": state.args.plan.rate_per_minute_micros,
                        "charged_micros": stats.charged_micros,
                        "reserved_secs": stats.reserved_secs,
                        "seconds_left": state.meter.seconds_left(Instant::now()),
                    }),
                    children: Vec::new(),
                };
                let _ = reply.send(view);
                return Ok(());
            }
            MeterMsg::Start => {
                state.meter.start(Instant::now());
                state.publish_stats();
            }
            MeterMsg::Tick => {
                state.armed_for = None;
                state.meter.handle_timeout(Instant::now());
            }
            MeterMsg::Stats(reply) => {
                let _ = reply.send(state.meter.stats());
                return Ok(());
            }
            MeterMsg::Settle(reply) => {
                if let Some(timer) = state.timer.take() {
                    timer.abort();
                }
                let settlement = state.meter.settle(Instant::now());
                if let Err(err) = state
                    .args
                    .charger
                    .settle(&state.args.ctx.call_id, &state.args.tenant_id, &settlement)
                    .await
                {
                    // The reservation stays charged: the tenant pays at most one increment
                    // too much, never too little; the ledger and the record still agree.
                    warn!(call_id = %state.args.ctx.call_id, %err, "settlement not written");
                }
                let _ = reply.send(settlement);
                return Ok(());
            }
        }
        state.drive(&myself).await;
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<MeterMsg>,
        state: &mut MeterState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(timer) = state.timer.take() {
            timer.abort();
        }
        Ok(())
    }
}
