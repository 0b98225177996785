//! The switch supervisor: parent of every call actor. It keeps the live-call registry current and
//! guarantees that a call actor that dies still gets its BYE sent and its outcome reported (the
//! media port is freed when the media actor's lease drops).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent,
};
use sip::dialog::DialogState;
use sip::message::Method;
use tracing::{error, warn};

use crate::call::{CallActor, CallArgs, CallMsg, CallSetup};
use crate::dialog_actor::SharedDialog;
use crate::mailbox::{Depth, Mailbox};
use crate::outcome::{CallEvents, CallOutcome, HangupBy};
use crate::registry::{CallRegistry, LiveCall};
use crate::sip_link::{SipCommand, SipLink};

/// Messages of the switch supervisor.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// Start a call actor for an admitted INVITE.
    StartCall(
        Box<CallSetup>,
        RpcReplyPort<Result<Mailbox<CallMsg>, String>>,
    ),
}

/// What the supervisor remembers of each live call, to clean up after it.
struct Supervised {
    call_id: String,
    sip_call_id: String,
    dialog: SharedDialog,
    reported: Arc<AtomicBool>,
    sip: SipLink,
    events: Arc<dyn CallEvents>,
}

/// State of the switch supervisor.
pub struct SupervisorState {
    registry: CallRegistry,
    calls: HashMap<ActorId, Supervised>,
}

/// The switch supervisor actor.
#[derive(Debug, Clone, Copy, Default)]
pub struct SwitchSupervisor;

impl SwitchSupervisor {
    /// Spawns the supervisor over `registry`.
    pub async fn start(
        registry: CallRegistry,
    ) -> Result<ActorRef<SupervisorMsg>, ractor::SpawnErr> {
        let (actor, _) =
            Actor::spawn(Some("switch-supervisor".into()), SwitchSupervisor, registry).await?;
        Ok(actor)
    }
}

fn cleanup(state: &mut SupervisorState, cell: &ActorCell, failure: Option<String>) {
    let Some(call) = state.calls.remove(&cell.get_id()) else {
        return;
    };
    state.registry.remove(&call.sip_call_id);
    // A call actor that ended without reporting (it failed, or was killed) still owes the caller
    // a BYE and the operator a call record.
    if call.reported.swap(true, Ordering::SeqCst) {
        return;
    }
    let err = failure.unwrap_or_else(|| "stopped without ending the call".to_string());
    error!(call_id = %call.call_id, %err, "call actor died: sending BYE and closing its record");
    let bye = {
        let mut dialog = call.dialog.lock().unwrap_or_else(|p| p.into_inner());
        (dialog.state() == DialogState::Confirmed).then(|| {
            dialog.terminate();
            (dialog.request(Method::Bye), dialog.peer())
        })
    };
    if let Some((request, peer)) = bye {
        call.sip.send(SipCommand::Request {
            sip_call_id: call.sip_call_id.clone(),
            request,
            peer,
        });
    }
    call.events.ended(CallOutcome {
        call_id: call.call_id,
        answered_at: None,
        ended_at: SystemTime::now(),
        hangup_by: HangupBy::Switch,
        cause: "internal_error".into(),
        media: None,
        billing: None,
        usage: Default::default(),
    });
}

impl Actor for SwitchSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = CallRegistry;

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        registry: CallRegistry,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState {
            registry,
            calls: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::StartCall(setup, reply) => {
                let setup = *setup;
                let dialog: SharedDialog = Arc::new(Mutex::new(setup.leg.dialog()));
                let reported = Arc::new(AtomicBool::new(false));
                let live = Supervised {
                    call_id: setup.call_id.clone(),
                    sip_call_id: setup.sip_call_id.clone(),
                    dialog: dialog.clone(),
                    reported: reported.clone(),
                    sip: setup.sip.clone(),
                    events: setup.events.clone(),
                };
                let name = format!("call-{}", setup.call_id);
                let listing = (
                    setup.billing.tenant_id.clone(),
                    setup.from.clone(),
                    setup.to.clone(),
                    setup.started_at_ms,
                    setup.stats.clone(),
                );
                let depth = Depth::default();
                let args = CallArgs {
                    setup,
                    dialog,
                    reported,
                    depth: depth.clone(),
                };
                match Actor::spawn_linked(Some(name), CallActor, args, myself.get_cell()).await {
                    Ok((actor, _)) => {
                        let call = Mailbox::new(actor, depth);
                        state.registry.insert(LiveCall {
                            call_id: live.call_id.clone(),
                            sip_call_id: live.sip_call_id.clone(),
                            tenant_id: Some(listing.0),
                            from: listing.1,
                            to: listing.2,
                            started_at_ms: listing.3,
                            stats: listing.4,
                            handle: call.clone(),
                        });
                        state.calls.insert(call.actor().get_id(), live);
                        // Only now can the ACK of our 200 be routed to the call.
                        let _ = call.cast(CallMsg::Start);
                        let _ = reply.send(Ok(call));
                    }
                    Err(err) => {
                        warn!(call_id = %live.call_id, %err, "call actor did not start");
                        let _ = reply.send(Err(err.to_string()));
                    }
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Overrides ractor's default, which would stop the supervisor (and every call) when one
        // call ends.
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => cleanup(state, &cell, reason),
            SupervisionEvent::ActorFailed(cell, err) => {
                cleanup(state, &cell, Some(err.to_string()))
            }
            _ => {}
        }
        Ok(())
    }
}
