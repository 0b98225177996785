//! SIP trunks: the carriers calls come from and go to. Inbound CIDRs and codecs are stored as
//! JSON arrays of strings and handed out as `Vec<String>`.

use std::net::IpAddr;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::{Store, new_id, now_ms};
use crate::error::{StoreError, map_insert_error};
use crate::rows::{flag, flag_value, json_strings};

/// Transports a trunk may use.
const TRANSPORTS: &[&str] = &["udp", "tcp", "tls", "ws", "wss"];

/// A trunk to create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewTrunk {
    /// Unique name.
    pub name: String,
    /// Where to send requests: `host` or `host:port`.
    pub address: String,
    /// `udp`, `tcp`, `tls`, `ws` or `wss` (case-insensitive; stored lower-case).
    pub transport: String,
    /// Source networks accepted for inbound calls, e.g. `"203.0.113.0/24"` or a bare address.
    pub inbound_cidrs: Vec<String>,
    /// Digest user name, if the carrier wants authentication.
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// Codec names in preference order, e.g. `["PCMU", "PCMA"]`.
    pub codecs: Vec<String>,
    /// Whether to send REGISTER to the carrier.
    pub register: bool,
}

/// A stored trunk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trunk {
    /// Uuid v7 string.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Where to send requests.
    pub address: String,
    /// Lower-case transport name.
    pub transport: String,
    /// Source networks accepted for inbound calls.
    pub inbound_cidrs: Vec<String>,
    /// Digest user name.
    pub username: Option<String>,
    /// Digest password; never serialised.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Codec names in preference order.
    pub codecs: Vec<String>,
    /// Whether to send REGISTER to the carrier.
    pub register: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Trunk {
    /// Decodes a row of its table.
    pub(crate) fn from_row(row: &AnyRow) -> Result<Trunk, sqlx::Error> {
        Ok(Trunk {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            address: row.try_get("address")?,
            transport: row.try_get("transport")?,
            inbound_cidrs: json_strings(row, "inbound_cidrs")?,
            username: row.try_get("username")?,
            password: row.try_get("password")?,
            codecs: json_strings(row, "codecs")?,
            register: flag(row, "register")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl Store {
    /// Creates a trunk. A name used before is a `Conflict`.
    pub async fn create_trunk(&self, t: &NewTrunk) -> Result<Trunk, StoreError> {
        let trunk = validate(t)?;
        let inbound_cidrs = json_text(&trunk.inbound_cidrs);
        let codecs = json_text(&trunk.codecs);
        sqlx::query(
            "INSERT INTO trunks (id, name, address, transport, inbound_cidrs, username, password, \
             codecs, register, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&trunk.id)
        .bind(&trunk.name)
        .bind(&trunk.address)
        .bind(&trunk.transport)
        .bind(inbound_cidrs)
        .bind(trunk.username.as_deref())
        .bind(trunk.password.as_deref())
        .bind(codecs)
        .bind(flag_value(trunk.register))
        .bind(trunk.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_insert_error(
                e,
                || format!("a trunk named {:?} already exists", trunk.name),
                ("trunk", &trunk.id),
            )
        })?;
        Ok(trunk)
    }

    /// All trunks, by name.
    pub async fn list_trunks(&self) -> Result<Vec<Trunk>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, address, transport, inbound_cidrs, username, password, codecs, \
             register, created_at FROM trunks ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(Trunk::from_row).collect::<Result<_, _>>()?)
    }
}

/// Checks a new trunk and builds the row to store.
fn validate(t: &NewTrunk) -> Result<Trunk, StoreError> {
    let name = t.name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid("name", "must not be empty"));
    }
    let address = t.address.trim();
    if address.is_empty() || address.chars().any(char::is_whitespace) {
        return Err(StoreError::invalid(
            "address",
            "must be non-empty and without spaces",
        ));
    }
    let transport = t.transport.trim().to_ascii_lowercase();
    if !TRANSPORTS.contains(&transport.as_str()) {
        return Err(StoreError::invalid(
            "transport",
            format!("{:?} is not one of {}", t.transport, TRANSPORTS.join(", ")),
        ));
    }
    for cidr in &t.inbound_cidrs {
        check_cidr(cidr)?;
    }
    if t.codecs.iter().any(|c| c.trim().is_empty()) {
        return Err(StoreError::invalid(
            "codecs",
            "codec names must not be empty",
        ));
    }
    Ok(Trunk {
        id: new_id(),
        name: name.to_string(),
        address: address.to_string(),
        transport,
        inbound_cidrs: t
            .inbound_cidrs
            .iter()
            .map(|c| c.trim().to_string())
            .collect(),
        username: t.username.clone(),
        password: t.password.clone(),
        codecs: t.codecs.iter().map(|c| c.trim().to_string()).collect(),
        register: t.register,
        created_at: now_ms(),
    })
}

/// Accepts `address` or `address/prefix` with a prefix that fits the address family.
fn check_cidr(cidr: &str) -> Result<(), StoreError> {
    let bad = |why: &str| StoreError::invalid("inbound_cidrs", format!("{cidr:?}: {why}"));
    let (addr, prefix) = match cidr.trim().split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (cidr.trim(), None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
    if let Some(prefix) = prefix {
        let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad("prefix length too long"));
        }
    }
    Ok(())
}

/// A list of strings as JSON text.
fn json_text(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_checked() {
        assert!(check_cidr("203.0.113.0/24").is_ok());
        assert!(check_cidr("198.51.100.7").is_ok());
        assert!(check_cidr("2001:db8::/32").is_ok());
        assert!(check_cidr("203.0.113.0/33").is_err());
        assert!(check_cidr("carrier.example").is_err());
        assert!(check_cidr("10.0.0.0/x").is_err());
    }

    #[test]
    fn json_lists_round_trip() {
        let list = vec!["PCMU".to_string(), "a\"b".to_string()];
        let text = json_text(&list);
        let back: Vec<String> = serde_json::from_str(&text).expect("valid json");
        assert_eq!(back, list);
    }
}
