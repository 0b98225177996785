//! What every child of a call actor gets: the call id (for logs and names), a counted handle to
//! its call actor, and the counter of its own mailbox.

use ractor::{Actor, ActorRef, SpawnErr};

use super::messages::CallMsg;
use crate::mailbox::{Depth, Mailbox};

/// The context of a call's child actor.
#[derive(Debug, Clone)]
pub struct ChildContext {
    /// Our call id.
    pub call_id: String,
    /// The call actor.
    pub call: Mailbox<CallMsg>,
    /// This child's mailbox counter: call [`Depth::taken`] at the start of each message.
    pub depth: Depth,
}

/// Spawns a child linked to the call actor `parent`, named `call-<id>-<kind>`.
pub(crate) async fn spawn_child<A: Actor>(
    kind: &str,
    actor: A,
    call: &Mailbox<CallMsg>,
    call_id: &str,
    args: impl FnOnce(ChildContext) -> A::Arguments,
    parent: &ActorRef<CallMsg>,
) -> Result<Mailbox<A::Msg>, SpawnErr> {
    let depth = Depth::default();
    let ctx = ChildContext {
        call_id: call_id.to_string(),
        call: call.clone(),
        depth: depth.clone(),
    };
    let (child, _) = Actor::spawn_linked(
        Some(format!("call-{call_id}-{kind}")),
        actor,
        args(ctx),
        parent.get_cell(),
    )
    .await?;
    Ok(Mailbox::new(child, depth))
}
