//! The meter: per-second billing of one call while it runs. A sans-IO core ([`Meter`]) decides
//! when to reserve the next increment and when the money has run out; the [`MeterActor`], a
//! child of the call actor, runs it against a [`Charger`] (the wallet, implemented by the switch).

mod actor;
mod charger;
mod core;
mod plan;

pub use actor::{MeterActor, MeterArgs, MeterMsg};
pub use charger::{ChargeError, ChargeResult, Charger};
pub use core::{Meter, MeterEvent, MeterStats, Settlement, TickCharge};
pub use plan::MeterPlan;
