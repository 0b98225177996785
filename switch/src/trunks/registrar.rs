//! The REGISTER side of trunks: one task per trunk with `register = true`, each driving a
//! [`sip::register::Registration`] through the SIP transport. Responses and transaction timeouts
//! of those REGISTERs come back from the dispatcher by Call-ID ([`Registrations::offer`],
//! [`Registrations::timed_out`]).
//!
//! The `sip_registrations{trunk, state}` gauge is 1 for each trunk's current state
//! (`registering`, `registered`, `failed`, `unregistering`) and 0 for the others it has been in.
//! A trunk removed, changed or no longer registering has its binding taken down (`Expires: 0`)
//! before its task ends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use actors::sip_link::{SipCommand, SipLink};
use dashmap::DashMap;
use metrics::gauge;
use sip::auth::Credentials;
use sip::endpoint::{Peer, Transport};
use sip::message::Response;
use sip::register::{Registration, RegistrationConfig, RegistrationState};
use store::Trunk;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, sleep_until};
use tracing::{info, warn};

use super::TrunkTable;

/// Expiry asked of registrars.
const EXPIRES_SECS: u32 = 3600;
/// How long to wait for a final response to a REGISTER (past Timer F's 32 s).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(40);
/// Retry interval when the trunk's address does not resolve.
const RESOLVE_RETRY: Duration = Duration::from_secs(30);

/// What every registration shares.
#[derive(Debug, Clone)]
pub struct RegistrarSettings {
    /// The SIP transport's command link.
    pub sip: SipLink,
    /// Our SIP `host:port` (Via, Contact).
    pub sent_by: String,
    /// User-Agent header.
    pub user_agent: String,
}

/// What a REGISTER task hears from the dispatcher.
#[derive(Debug)]
enum RegEvent {
    Response(Box<Response>),
    TransactionTimeout,
}

/// The fields of a trunk that shape its registration: a change restarts the task.
type Fingerprint = (String, String, Option<String>, Option<String>, String);

fn fingerprint(t: &Trunk) -> Fingerprint {
    (
        t.address.clone(),
        t.transport.clone(),
        t.username.clone(),
        t.password.clone(),
        t.name.clone(),
    )
}

struct Running {
    fingerprint: Fingerprint,
    /// Never sent on: dropping it (with this entry) ends the task.
    _stop: oneshot::Sender<()>,
}

/// The REGISTER tasks and the Call-ID routes of their responses.
pub struct Registrations {
    settings: RegistrarSettings,
    routes: DashMap<String, mpsc::UnboundedSender<RegEvent>>,
    tasks: Mutex<HashMap<String, Running>>,
}

impl std::fmt::Debug for Registrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrations")
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

impl Registrations {
    /// No registrations yet; [`Registrations::sync`] starts them.
    pub fn new(settings: RegistrarSettings) -> Self {
        Registrations {
            settings,
            routes: DashMap::new(),
            tasks: Mutex::new(HashMap::new()),
        }
    }

    /// Hands `response` to the registration whose REGISTER it answers; gives it back when its
    /// Call-ID is not a registration's.
    pub fn offer(&self, call_id: &str, response: Response) -> Option<Response> {
        match self.routes.get(call_id) {
            Some(route) => {
                let _ = route.send(RegEvent::Response(Box::new(response)));
                None
            }
            None => Some(response),
        }
    }

    /// Tells the registration with `call_id` its REGISTER transaction timed out; `false` when
    /// the Call-ID is not a registration's.
    pub fn timed_out(&self, call_id: &str) -> bool {
        match self.routes.get(call_id) {
            Some(route) => {
                let _ = route.send(RegEvent::TransactionTimeout);
                true
            }
            None => false,
        }
    }

    /// Starts a task for each registering trunk without one (or whose address, transport or
    /// credentials changed) and stops the tasks of trunks gone or no longer registering.
    pub fn sync(&self, table: &TrunkTable) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: HashMap<&str, &Trunk> = table
            .entries()
            .iter()
            .filter(|e| e.trunk.register)
            .map(|e| (e.trunk.id.as_str(), &e.trunk))
            .collect();
        tasks.retain(|id, running| {
            wanted
                .get(id.as_str())
                .is_some_and(|t| fingerprint(t) == running.fingerprint)
        });
        // Dropping a `Running` drops its stop sender, which ends the task.
        for (id, trunk) in wanted {
            if tasks.contains_key(id) {
                continue;
            }
            let (stop, stopped) = oneshot::channel();
            let call_id = format!("reg-{}", uuid::Uuid::new_v4());
            let (tx, rx) = mpsc::unbounded_channel();
            self.routes.insert(call_id.clone(), tx);
            tasks.insert(
                id.to_string(),
                Running {
                    fingerprint: fingerprint(trunk),
                    _stop: stop,
                },
            );
            let task = RegisterTask {
                trunk: trunk.clone(),
                settings: self.settings.clone(),
                call_id,
            };
            tokio::spawn(task.run(rx, stopped));
        }
        self.routes.retain(|_, tx| !tx.is_closed());
    }

    /// Stops every task.
    pub fn stop_all(&self) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// One trunk's REGISTER loop.
struct RegisterTask {
    trunk: Trunk,
    settings: RegistrarSettings,
    call_id: String,
}

impl RegisterTask {
    async fn run(
        self,
        mut events: mpsc::UnboundedReceiver<RegEvent>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut gauge = StateGauge {
            trunk: self.trunk.name.clone(),
            shown: None,
        };
        let peer = loop {
            match self.peer().await {
                Ok(peer) => break peer,
                Err(why) => {
                    warn!(trunk = %self.trunk.name, address = %self.trunk.address, why, "trunk registrar unreachable");
                    gauge.show("failed");
                    tokio::select! {
                        () = sleep(RESOLVE_RETRY) => {}
                        _ = &mut stop => return,
                    }
                }
            }
        };
        let mut reg = match Registration::new(
            Instant::now().into_std(),
            self.config(peer),
            self.call_id.clone(),
        ) {
            Ok(reg) => reg,
            Err(err) => {
                warn!(trunk = %self.trunk.name, %err, "trunk cannot register");
                gauge.show("failed");
                let _ = stop.await;
                return;
            }
        };
        let mut stopping = false;
        loop {
            while let Some(request) = reg.poll_request() {
                self.settings.sip.send(SipCommand::Request {
                    sip_call_id: self.call_id.clone(),
                    request,
                    peer,
                });
            }
            gauge.show(reg.state().label());
            if reg.state() == &RegistrationState::Unregistered {
                break;
            }
            let deadline = reg
                .poll_timeout()
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                () = sleep_until(deadline) => reg.handle_timeout(Instant::now().into_std()),
                event = events.recv() => match event {
                    Some(RegEvent::Response(r)) => reg.handle_response(Instant::now().into_std(), &r),
                    Some(RegEvent::TransactionTimeout) => {
                        reg.handle_transaction_timeout(Instant::now().into_std())
                    }
                    None => break,
                },
                // The trunk was removed or changed: take the binding down (bounded by the
                // registration's response timeout), then end.
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    reg.unregister(Instant::now().into_std());
                }
            }
        }
    }

    fn config(&self, peer: Peer) -> RegistrationConfig {
        let t = &self.trunk;
        let user = t.username.clone().unwrap_or_else(|| t.name.clone());
        let transport_param = match peer.transport {
            Transport::Tcp => ";transport=tcp",
            Transport::Udp => "",
        };
        RegistrationConfig {
            registrar: format!("sip:{}", t.address),
            aor: format!("sip:{user}@{}", t.address),
            contact: format!("sip:{user}@{}{transport_param}", self.settings.sent_by),
            via_sent_by: self.settings.sent_by.clone(),
            transport: peer.transport,
            user_agent: self.settings.user_agent.clone(),
            expires: EXPIRES_SECS,
            credentials: match (&t.username, &t.password) {
                (Some(username), Some(password)) => Some(Credentials {
                    username: username.clone(),
                    password: password.clone(),
                }),
                _ => None,
            },
            response_timeout: RESPONSE_TIMEOUT,
        }
    }

    /// The registrar's address: `ip`, `ip:port`, `[v6]:port`, or a host name (port 5060 unless
    /// written).
    async fn peer(&self) -> Result<Peer, &'static str> {
        let transport = match self.trunk.transport.as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            _ => return Err("only udp and tcp trunks can register"),
        };
        let address = self.trunk.address.as_str();
        let addr = if let Ok(addr) = address.parse::<SocketAddr>() {
            addr
        } else if let Ok(ip) = address.parse::<IpAddr>() {
            SocketAddr::new(ip, 5060)
        } else {
            let target = if address.contains(':') {
                address.to_string()
            } else {
                format!("{address}:5060")
            };
            tokio::net::lookup_host(target)
                .await
                .ok()
                .and_then(|mut addrs| addrs.next())
                .ok_or("address does not resolve")?
        };
        Ok(Peer { addr, transport })
    }
}

/// The `sip_registrations` gauge of one trunk: 1 on its current state, 0 on the one it left and
/// on every state once the task ends.
struct StateGauge {
    trunk: String,
    shown: Option<&'static str>,
}

impl StateGauge {
    fn show(&mut self, label: &'static str) {
        if self.shown == Some(label) {
            return;
        }
        if let Some(old) = self.shown {
            gauge!("sip_registrations", "trunk" => self.trunk.clone(), "state" => old).set(0.0);
        }
        gauge!("sip_registrations", "trunk" => self.trunk.clone(), "state" => label).set(1.0);
        info!(trunk = %self.trunk, state = label, "trunk registration");
        self.shown = Some(label);
    }
}

impl Drop for StateGauge {
    fn drop(&mut self) {
        if let Some(label) = self.shown {
            gauge!("sip_registrations", "trunk" => self.trunk.clone(), "state" => label).set(0.0);
        }
    }
}
