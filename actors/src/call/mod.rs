//! The call actor: one per call, supervising the dialog, media and speech actors of that call,
//! deciding when the call ends and reporting how; transfers (REFER, else a second call bridged
//! to this one) are its bookkeeping too.

mod actor;
mod child;
mod children;
mod conversation;
mod key_echo;
mod latency;
mod messages;
mod setup;
mod transfer;

pub use actor::{CallActor, CallArgs, CallState};
pub use child::ChildContext;
pub use latency::{Produced, Recognized};
pub use messages::CallMsg;
pub use setup::{BillingSetup, CallLimits, CallSetup, LegSetup, MediaSetup, SpeechSetup};
pub use transfer::{BridgePeer, BridgeRequest, LegPlacer, TransferReport};
