//! Actor handles that count what is waiting in the actor's mailbox.
//!
//! ractor's mailboxes are unbounded channels that do not expose their length, yet operators want
//! to see a backlog building up. A [`Mailbox`] counts each message it sends; the receiving actor
//! calls [`Depth::taken`] as it starts handling one. Messages an actor schedules to itself
//! (timers) bypass the count, which is why `taken` saturates at zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ractor::{ActorRef, Message, MessagingErr};

/// The shared count of messages sent through [`Mailbox`]es and not yet handled.
#[derive(Debug, Clone, Default)]
pub struct Depth(Arc<AtomicUsize>);

impl Depth {
    /// Messages waiting.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// The actor took one message off its mailbox.
    pub fn taken(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    fn sent(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A handle to an actor that counts the messages it sends.
#[derive(Debug)]
pub struct Mailbox<M: Message> {
    actor: ActorRef<M>,
    depth: Depth,
}

impl<M: Message> Clone for Mailbox<M> {
    fn clone(&self) -> Self {
        Mailbox {
            actor: self.actor.clone(),
            depth: self.depth.clone(),
        }
    }
}

impl<M: Message> Mailbox<M> {
    /// Wraps `actor`, whose handler calls `depth.taken()` for each message.
    pub fn new(actor: ActorRef<M>, depth: Depth) -> Self {
        Mailbox { actor, depth }
    }

    /// Sends `msg` without waiting.
    pub fn cast(&self, msg: M) -> Result<(), MessagingErr<M>> {
        self.depth.sent();
        let sent = self.actor.cast(msg);
        if sent.is_err() {
            self.depth.taken();
        }
        sent
    }

    /// The underlying actor (for RPCs, which are counted by the caller with [`Mailbox::counted`]).
    pub fn actor(&self) -> &ActorRef<M> {
        &self.actor
    }

    /// Counts one message about to be sent through [`Mailbox::actor`] (an RPC).
    pub fn counted(&self) -> &ActorRef<M> {
        self.depth.sent();
        &self.actor
    }

    /// Messages waiting.
    pub fn depth(&self) -> usize {
        self.depth.get()
    }
}
