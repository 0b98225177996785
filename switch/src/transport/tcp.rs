//! SIP over TCP (RFC 3261 §18): the listener on `sip.listen`, one task per connection, and the
//! registry of connections the endpoint driver sends through.
//!
//! Each connection task reads into a [`StreamFramer`], forwards every complete message to the
//! driver as `(Peer, Bytes)` over one bounded channel, answers keep-alive pings (RFC 5626
//! §3.5.1), and writes what the driver queues on its own bounded outbox. A connection closes when
//! the peer closes it, its stream cannot be framed, it stays idle too long, a write stalls, or its
//! outbox overflows. The driver sends to a TCP peer with no connection by opening one to that
//! address (RFC 3261 §18.1.1). A limit on open connections refuses the rest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use sip::endpoint::{Peer, Transport};
use sip::framing::{Framed, StreamFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tracing::{debug, info, warn};

/// One framed message read from a TCP connection, for the endpoint driver.
pub type Inbound = (Peer, Bytes);

/// Limits and timeouts of SIP over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// A connection with no traffic either way for this long is closed.
    pub idle_timeout: Duration,
    /// Open connections (inbound and outbound together) beyond this are refused.
    pub max_connections: usize,
    /// Messages queued for one connection; when full the connection is closed.
    pub outbox_capacity: usize,
    /// Messages read from all connections awaiting the driver (backpressure on reads).
    pub inbound_capacity: usize,
    /// Time allowed to open an outbound connection.
    pub connect_timeout: Duration,
    /// Time allowed for one write before the connection is considered dead.
    pub write_timeout: Duration,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            idle_timeout: Duration::from_secs(300),
            max_connections: 4096,
            outbox_capacity: 256,
            inbound_capacity: 1024,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// SIP over TCP as the driver sees it: where messages read arrive, and how to send.
pub struct TcpTransport {
    /// Sends on connections, opening them when needed.
    pub(crate) connections: TcpConnections,
    /// Framed messages from every connection.
    pub(crate) inbound: mpsc::Receiver<Inbound>,
}

impl TcpTransport {
    /// Serves `listener` (bound to `sip.listen`) until `shutdown` turns true. Spawns the accept
    /// loop, so it must be called inside a tokio runtime.
    pub fn start(
        listener: TcpListener,
        config: TcpConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let (inbound_tx, inbound) = mpsc::channel(config.inbound_capacity.max(1));
        let connections = TcpConnections(Arc::new(Shared {
            map: DashMap::new(),
            permits: Arc::new(Semaphore::new(config.max_connections)),
            next_id: AtomicU64::new(0),
            inbound: inbound_tx,
            config,
            shutdown,
        }));
        tokio::spawn(accept_loop(listener, connections.clone()));
        TcpTransport {
            connections,
            inbound,
        }
    }

    /// Number of open (or opening) connections with a writer registered.
    pub fn connection_count(&self) -> usize {
        self.connections.0.map.len()
    }

    /// A counter of connections that outlives the transport handed to the driver.
    pub fn connection_counter(&self) -> impl Fn() -> usize + Send + 'static {
        let connections = self.connections.clone();
        move || connections.0.map.len()
    }
}

/// The writer side of one connection, as the registry holds it.
struct Handle {
    /// Tells this registration apart from a later one for the same address.
    id: u64,
    outbox: mpsc::Sender<Bytes>,
    close: Arc<Notify>,
}

struct Shared {
    /// Peer address → the connection responses and requests to it go through.
    map: DashMap<SocketAddr, Handle>,
    permits: Arc<Semaphore>,
    next_id: AtomicU64,
    inbound: mpsc::Sender<Inbound>,
    config: TcpConfig,
    shutdown: watch::Receiver<bool>,
}

/// The registry of TCP connections by peer address.
#[derive(Clone)]
pub(crate) struct TcpConnections(Arc<Shared>);

/// A registered connection, before its task runs.
struct Registration {
    addr: SocketAddr,
    id: u64,
    outbox: mpsc::Receiver<Bytes>,
    close: Arc<Notify>,
    permit: OwnedSemaphorePermit,
}

impl TcpConnections {
    /// Queues `payload` for the connection to `addr`, opening one if there is none. Never waits:
    /// a full outbox closes the connection (its peer is not reading).
    pub(crate) fn send(&self, addr: SocketAddr, payload: Bytes) {
        let payload = match self.try_existing(addr, payload) {
            Ok(()) => return,
            Err(payload) => payload,
        };
        let Some((registration, outbox)) = self.register(addr) else {
            warn!(%addr, "SIP TCP connection limit reached: message not sent");
            return;
        };
        // A fresh outbox has room (capacity ≥ 1) and its receiver is alive in `registration`.
        let _ = outbox.try_send(payload);
        tokio::spawn(dial(self.clone(), registration));
    }

    /// Sends on the registered connection; hands the payload back when there is none usable.
    fn try_existing(&self, addr: SocketAddr, payload: Bytes) -> Result<(), Bytes> {
        let Some((id, outbox, close)) = self
            .0
            .map
            .get(&addr)
            .map(|h| (h.id, h.outbox.clone(), h.close.clone()))
        else {
            return Err(payload);
        };
        match outbox.try_send(payload) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                warn!(%addr, "SIP TCP outbox full: closing the connection");
                self.forget(addr, id);
                close.notify_one();
                Ok(())
            }
            Err(TrySendError::Closed(payload)) => {
                self.forget(addr, id);
                Err(payload)
            }
        }
    }

    /// Takes a connection slot and registers `addr`'s writer; `None` at the connection limit.
    fn register(&self, addr: SocketAddr) -> Option<(Registration, mpsc::Sender<Bytes>)> {
        let permit = self.0.permits.clone().try_acquire_owned().ok()?;
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, outbox) = mpsc::channel(self.0.config.outbox_capacity.max(1));
        let close = Arc::new(Notify::new());
        // The newest connection from an address is where replies go; an older one it replaces
        // keeps reading until it closes.
        self.0.map.insert(
            addr,
            Handle {
                id,
                outbox: tx.clone(),
                close: close.clone(),
            },
        );
        let registration = Registration {
            addr,
            id,
            outbox,
            close,
            permit,
        };
        Some((registration, tx))
    }

    /// Removes `addr`'s registration if it is still connection `id`'s.
    fn forget(&self, addr: SocketAddr, id: u64) {
        self.0.map.remove_if(&addr, |_, h| h.id == id);
    }

    fn accept(&self, stream: TcpStream, addr: SocketAddr) {
        let Some((registration, _)) = self.register(addr) else {
            warn!(%addr, limit = self.0.config.max_connections, "SIP TCP connection refused: limit reached");
            return;
        };
        debug!(%addr, "SIP TCP connection accepted");
        tokio::spawn(serve(self.clone(), stream, registration));
    }
}

async fn accept_loop(listener: TcpListener, connections: TcpConnections) {
    let mut shutdown = connections.0.shutdown.clone();
    info!(addr = ?listener.local_addr().ok(), "SIP over TCP listening");
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => connections.accept(stream, addr),
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(%err, "SIP TCP accept failed");
                    sleep(Duration::from_millis(100)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
    info!("SIP over TCP stopped");
}

/// Opens an outbound connection (RFC 3261 §18.1.1), then serves it.
async fn dial(connections: TcpConnections, registration: Registration) {
    let addr = registration.addr;
    let connect_timeout = connections.0.config.connect_timeout;
    match timeout(connect_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            debug!(%addr, "SIP TCP connection opened");
            serve(connections, stream, registration).await;
        }
        Ok(Err(err)) => {
            warn!(%addr, %err, "SIP TCP connect failed: queued messages dropped");
            connections.forget(addr, registration.id);
        }
        Err(_) => {
            warn!(%addr, "SIP TCP connect timed out: queued messages dropped");
            connections.forget(addr, registration.id);
        }
    }
}

/// Runs one connection until it closes, then unregisters it.
async fn serve(connections: TcpConnections, stream: TcpStream, registration: Registration) {
    let Registration {
        addr,
        id,
        mut outbox,
        close,
        permit,
    } = registration;
    let _ = stream.set_nodelay(true);
    let config = connections.0.config;
    let inbound = connections.0.inbound.clone();
    let mut shutdown = connections.0.shutdown.clone();
    let (mut reader, mut writer) = stream.into_split();
    let peer = Peer {
        addr,
        transport: Transport::Tcp,
    };
    let mut framer = StreamFramer::new();
    let mut outbox_open = true;
    let mut deadline = Instant::now() + config.idle_timeout;
    let reason: String = 'conn: loop {
        tokio::select! {
            read = reader.read_buf(framer.read_buf()) => match read {
                Ok(0) => break "closed by the peer".into(),
                Ok(_) => {
                    deadline = Instant::now() + config.idle_timeout;
                    loop {
                        match framer.next_message() {
                            Ok(Some(Framed::Message(bytes))) => {
                                if inbound.send((peer, bytes)).await.is_err() {
                                    break 'conn "driver stopped".into();
                                }
                            }
                            Ok(Some(Framed::Ping)) => {
                                if let Err(err) = write(&mut writer, b"\r\n", config).await {
                                    break 'conn err;
                                }
                            }
                            Ok(None) => break,
                            Err(err) => {
                                warn!(%addr, %err, "SIP TCP stream cannot be framed: closing");
                                break 'conn format!("unframeable stream: {err}");
                            }
                        }
                    }
                }
                Err(err) => break format!("read error: {err}"),
            },
            payload = outbox.recv(), if outbox_open => match payload {
                Some(payload) => {
                    if let Err(err) = write(&mut writer, &payload, config).await {
                        break err;
                    }
                    deadline = Instant::now() + config.idle_timeout;
                }
                // Replaced by a newer connection from the same address: keep reading.
                None => outbox_open = false,
            },
            () = close.notified() => break "outbox full".into(),
            () = sleep_until(deadline) => break "idle".into(),
            () = stopped(&mut shutdown) => break "shutting down".into(),
        }
    };
    connections.forget(addr, id);
    drop(permit);
    debug!(%addr, %reason, "SIP TCP connection closed");
}

/// Resolves once shutdown is asked for (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn write(writer: &mut OwnedWriteHalf, bytes: &[u8], config: TcpConfig) -> Result<(), String> {
    match timeout(config.write_timeout, writer.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("write error: {err}")),
        Err(_) => Err("write timed out".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nl: 0\r\n\r\n";
    const WAIT: Duration = Duration::from_secs(5);

    async fn start(config: TcpConfig) -> (TcpTransport, SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, shutdown) = watch::channel(false);
        (TcpTransport::start(listener, config, shutdown), addr, stop)
    }

    async fn next_inbound(tcp: &mut TcpTransport) -> Inbound {
        timeout(WAIT, tcp.inbound.recv())
            .await
            .expect("a message in time")
            .expect("channel open")
    }

    /// Reads until EOF (true) or an error; false when the connection stays open.
    async fn closed_by_switch(stream: &mut TcpStream) -> bool {
        let mut sink = Vec::new();
        matches!(
            timeout(WAIT, stream.read_to_end(&mut sink)).await,
            Ok(Ok(_)) | Ok(Err(_))
        )
    }

    async fn wait_for_count(tcp: &TcpTransport, n: usize) -> bool {
        for _ in 0..100 {
            if tcp.connection_count() == n {
                return true;
            }
            sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn pings_get_pongs_messages_reach_the_driver_and_replies_come_back() {
        let (mut tcp, addr, _stop) = start(TcpConfig::default()).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let me = client.local_addr().unwrap();
        client.write_all(b"\r\n\r\n").await.unwrap();
        let mut pong = [0u8; 2];
        timeout(WAIT, client.read_exact(&mut pong))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&pong, b"\r\n");

        let (head, tail) = OPTIONS.split_at(20);
        client.write_all(head).await.unwrap();
        client.flush().await.unwrap();
        sleep(Duration::from_millis(20)).await;
        client.write_all(tail).await.unwrap();
        let (peer, message) = next_inbound(&mut tcp).await;
        assert_eq!(
            peer,
            Peer {
                addr: me,
                transport: Transport::Tcp
            }
        );
        assert_eq!(&message[..], OPTIONS);

        const OK: &[u8] = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";
        tcp.connections.send(me, Bytes::from_static(OK));
        let mut reply = vec![0u8; OK.len()];
        timeout(WAIT, client.read_exact(&mut reply))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply, OK);
        assert_eq!(tcp.connection_count(), 1);
        drop(client);
        assert!(
            wait_for_count(&tcp, 0).await,
            "entry removed when the peer closes"
        );
    }

    #[tokio::test]
    async fn garbage_closes_the_connection_and_others_keep_working() {
        let (mut tcp, addr, _stop) = start(TcpConfig::default()).await;
        let mut good = TcpStream::connect(addr).await.unwrap();
        let mut bad = TcpStream::connect(addr).await.unwrap();
        bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(closed_by_switch(&mut bad).await);
        good.write_all(OPTIONS).await.unwrap();
        assert_eq!(&next_inbound(&mut tcp).await.1[..], OPTIONS);
        assert!(wait_for_count(&tcp, 1).await);
    }

    #[tokio::test]
    async fn idle_connections_close() {
        let config = TcpConfig {
            idle_timeout: Duration::from_millis(200),
            ..TcpConfig::default()
        };
        let (tcp, addr, _stop) = start(config).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        assert!(closed_by_switch(&mut client).await);
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(wait_for_count(&tcp, 0).await);
    }

    #[tokio::test]
    async fn connections_beyond_the_limit_are_refused() {
        let config = TcpConfig {
            max_connections: 1,
            ..TcpConfig::default()
        };
        let (mut tcp, addr, _stop) = start(config).await;
        let mut first = TcpStream::connect(addr).await.unwrap();
        first.write_all(OPTIONS).await.unwrap();
        next_inbound(&mut tcp).await;
        let mut second = TcpStream::connect(addr).await.unwrap();
        assert!(closed_by_switch(&mut second).await);
        // Sending to a new TCP peer would need a second connection: refused too.
        let ua = TcpListener::bind("127.0.0.1:0").await.unwrap();
        tcp.connections
            .send(ua.local_addr().unwrap(), Bytes::from_static(OPTIONS));
        assert!(
            timeout(Duration::from_millis(300), ua.accept())
                .await
                .is_err()
        );
        // Once the first closes, its slot is free again.
        drop(first);
        assert!(wait_for_count(&tcp, 0).await);
        let mut third = TcpStream::connect(addr).await.unwrap();
        third.write_all(OPTIONS).await.unwrap();
        next_inbound(&mut tcp).await;
    }

    #[tokio::test]
    async fn sending_to_an_unconnected_peer_opens_a_connection() {
        let (mut tcp, _addr, _stop) = start(TcpConfig::default()).await;
        let ua = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ua_addr = ua.local_addr().unwrap();
        let bye = Bytes::from_static(b"BYE sip:ua@127.0.0.1 SIP/2.0\r\nl: 0\r\n\r\n");
        tcp.connections.send(ua_addr, bye.clone());
        tcp.connections.send(ua_addr, bye.clone());
        let (mut conn, _) = timeout(WAIT, ua.accept()).await.unwrap().unwrap();
        let mut got = vec![0u8; bye.len() * 2];
        timeout(WAIT, conn.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, [&bye[..], &bye[..]].concat(), "both on one connection");
        // The UA answers on the connection we opened.
        conn.write_all(b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n")
            .await
            .unwrap();
        let (peer, _) = next_inbound(&mut tcp).await;
        assert_eq!(peer.addr, ua_addr);
        // A peer that cannot be reached: the attempt is dropped and forgotten.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = closed.local_addr().unwrap();
        drop(closed);
        tcp.connections.send(dead, bye);
        assert!(wait_for_count(&tcp, 1).await);
    }

    #[tokio::test]
    async fn a_full_outbox_closes_the_connection() {
        let config = TcpConfig {
            outbox_capacity: 1,
            ..TcpConfig::default()
        };
        let (mut tcp, addr, _stop) = start(config).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let me = client.local_addr().unwrap();
        client.write_all(OPTIONS).await.unwrap();
        next_inbound(&mut tcp).await;
        // On this single-threaded runtime the connection task cannot drain between the sends.
        for _ in 0..2 {
            tcp.connections.send(me, Bytes::from_static(OPTIONS));
        }
        assert!(closed_by_switch(&mut client).await);
        assert!(wait_for_count(&tcp, 0).await);
    }

    #[tokio::test]
    async fn shutdown_stops_listening_and_closes_connections() {
        let (tcp, addr, stop) = start(TcpConfig::default()).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        stop.send(true).unwrap();
        assert!(closed_by_switch(&mut client).await);
        assert!(wait_for_count(&tcp, 0).await);
    }
}
