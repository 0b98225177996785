//! The UDP driver loop (quinn's `ConnectionDriver` shape): apply one input, drain transmits and
//! events, re-arm the single timer from `poll_timeout`.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use actors::sip_link::SipCommand;
use sip::endpoint::{Endpoint, Peer, Transport};
use sip::transaction::TimerConfig;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tracing::{info, warn};

use super::dispatch::Dispatcher;

const IDLE: Duration = Duration::from_secs(3600);

/// Runs the SIP endpoint over `socket` until `shutdown` turns true.
pub async fn run_udp(
    socket: UdpSocket,
    mut commands: mpsc::UnboundedReceiver<SipCommand>,
    dispatcher: Arc<Dispatcher>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut endpoint = Endpoint::new(TimerConfig::default());
    let mut buf = vec![0u8; 65_535];
    let mut timer = pin!(sleep_until(Instant::now() + IDLE));
    info!(addr = ?socket.local_addr().ok(), "SIP over UDP listening");
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => {
                    let peer = Peer { addr: from, transport: Transport::Udp };
                    endpoint.handle_message(Instant::now().into_std(), peer, &buf[..len]);
                }
                // ICMP port unreachable from an earlier send surfaces here on some systems.
                Err(err) => warn!(%err, "SIP socket receive error"),
            },
            command = commands.recv() => match command {
                Some(command) => dispatcher.apply(&mut endpoint, command),
                None => break,
            },
            () = &mut timer => endpoint.handle_timeout(Instant::now().into_std()),
            _ = shutdown.changed() => if *shutdown.borrow() { break },
        }
        while let Some(transmit) = endpoint.poll_transmit() {
            if let Err(err) = socket.send_to(&transmit.payload, transmit.peer.addr).await {
                warn!(%err, to = %transmit.peer.addr, "SIP send failed");
            }
        }
        while let Some(event) = endpoint.poll_event() {
            dispatcher.dispatch(&mut endpoint, event);
        }
        while let Some(transmit) = endpoint.poll_transmit() {
            if let Err(err) = socket.send_to(&transmit.payload, transmit.peer.addr).await {
                warn!(%err, to = %transmit.peer.addr, "SIP send failed");
            }
        }
        let next = endpoint
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + IDLE);
        if timer.deadline() != next {
            timer.as_mut().reset(next);
        }
    }
    info!("SIP over UDP stopped");
}
