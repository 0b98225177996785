//! The SIP endpoint driver (quinn's `ConnectionDriver` shape): the one task that owns the UDP
//! socket and the sans-IO [`Endpoint`]. It applies one input (a datagram, a message framed by a
//! TCP connection, a command or the timer), drains transmits and events, sends each transmit by
//! its peer's transport, and re-arms the single timer from `poll_timeout`.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use actors::sip_link::SipCommand;
use metrics::counter;
use sip::endpoint::{Endpoint, Peer, Transport};
use sip::transaction::TimerConfig;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tracing::{info, warn};

use super::dispatch::Dispatcher;
use super::tcp::{TcpConnections, TcpTransport};

const IDLE: Duration = Duration::from_secs(3600);

/// Runs the SIP endpoint over `socket` (UDP) and `tcp` until `shutdown` turns true.
pub async fn run(
    socket: UdpSocket,
    tcp: TcpTransport,
    mut commands: mpsc::UnboundedReceiver<SipCommand>,
    dispatcher: Arc<Dispatcher>,
    mut shutdown: watch::Receiver<bool>,
) {
    let TcpTransport {
        connections,
        mut inbound,
    } = tcp;
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
            // `connections` holds a sender, so the channel never reports closed while we run.
            Some((peer, message)) = inbound.recv() => {
                endpoint.handle_message(Instant::now().into_std(), peer, &message);
            }
            command = commands.recv() => match command {
                Some(command) => dispatcher.apply(&mut endpoint, command),
                None => break,
            },
            () = &mut timer => endpoint.handle_timeout(Instant::now().into_std()),
            _ = shutdown.changed() => if *shutdown.borrow() { break },
        }
        send_all(&mut endpoint, &socket, &connections).await;
        while let Some(event) = endpoint.poll_event() {
            dispatcher.dispatch(&mut endpoint, event);
        }
        send_all(&mut endpoint, &socket, &connections).await;
        export_stats(&endpoint);
        let next = endpoint
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + IDLE);
        if timer.deadline() != next {
            timer.as_mut().reset(next);
        }
    }
    info!("SIP endpoint driver stopped");
}

/// Sends every pending transmit: UDP from the socket, TCP through the peer's connection.
async fn send_all(endpoint: &mut Endpoint, socket: &UdpSocket, connections: &TcpConnections) {
    while let Some(transmit) = endpoint.poll_transmit() {
        match transmit.peer.transport {
            Transport::Udp => {
                if let Err(err) = socket.send_to(&transmit.payload, transmit.peer.addr).await {
                    warn!(%err, to = %transmit.peer.addr, "SIP send failed");
                }
            }
            Transport::Tcp => connections.send(transmit.peer.addr, transmit.payload),
        }
    }
}

/// Publishes the endpoint's own counters.
fn export_stats(endpoint: &Endpoint) {
    let stats = endpoint.stats();
    counter!("sip_messages_received_total").absolute(stats.received);
    counter!("sip_malformed_total").absolute(stats.malformed);
    counter!("sip_retransmissions_absorbed_total").absolute(stats.retransmissions_absorbed);
}
