//! Transaction keys (RFC 3261 §17.2.3 for server transactions, §17.1.3 for client ones) and the
//! table that finds a transaction by them.
//!
//! A key is built borrowing from the message's [`MessageKeys`], so a lookup allocates nothing;
//! only a new transaction stores an owned copy. The table is indexed by a 64-bit hash of the
//! key under the endpoint's own randomly keyed SipHash (a peer cannot aim for collisions), and
//! every hit is checked against the stored key, so a collision can never match the wrong
//! transaction: at worst (odds ~n/2^64) the newer transaction is not findable by key and its
//! retransmissions are answered as new requests.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use super::TxId;
use crate::message::{MessageKeys, Method};

/// Which side of the transaction the key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Side {
    Server,
    Client,
}

/// What matches a message to its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TxKey<'a> {
    side: Side,
    branch: Cow<'a, str>,
    /// Top Via sent-by host and port (0 when not written); empty for client keys.
    host: Cow<'a, str>,
    port: u16,
    method: Method,
}

impl<'a> TxKey<'a> {
    /// The key of the server transaction of a request with `keys` and `method` (an ACK
    /// belongs to its INVITE's transaction): branch + sent-by + method; RFC 2543 peers without
    /// the magic cookie are matched on Call-ID, CSeq number and From tag instead.
    pub(super) fn server(keys: &'a MessageKeys, method: Method) -> Self {
        let method = match method {
            Method::Ack => Method::Invite,
            m => m,
        };
        let branch = if keys.branch.starts_with("z9hG4bK") {
            Cow::Borrowed(keys.branch.as_str())
        } else {
            Cow::Owned(format!(
                "2543:{}:{}:{}",
                keys.call_id,
                keys.cseq.number,
                keys.from_tag.as_deref().unwrap_or("")
            ))
        };
        TxKey {
            side: Side::Server,
            branch,
            host: Cow::Borrowed(keys.via_host.as_str()),
            port: keys.via_port.unwrap_or(0),
            method,
        }
    }

    /// The key of a client transaction: our top Via branch and the method.
    pub(super) fn client(branch: &'a str, method: Method) -> Self {
        TxKey {
            side: Side::Client,
            branch: Cow::Borrowed(branch),
            host: Cow::Borrowed(""),
            port: 0,
            method,
        }
    }

    fn into_owned(self) -> TxKey<'static> {
        TxKey {
            side: self.side,
            branch: Cow::Owned(self.branch.into_owned()),
            host: Cow::Owned(self.host.into_owned()),
            port: self.port,
            method: self.method,
        }
    }
}

/// Transactions by key.
#[derive(Debug, Default)]
pub(super) struct KeyTable {
    hasher: RandomState,
    by_hash: HashMap<u64, TxId, BuildHasherDefault<PreHashed>>,
}

/// What a transaction keeps to leave the table: its key and that key's hash.
#[derive(Debug)]
pub(super) struct StoredKey {
    hash: u64,
    key: TxKey<'static>,
}

impl KeyTable {
    fn hash(&self, key: &TxKey<'_>) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The transaction with `key`, if any; `stored` gives a transaction's stored key.
    pub(super) fn get<'s>(
        &self,
        key: &TxKey<'_>,
        stored: impl FnOnce(TxId) -> Option<&'s StoredKey>,
    ) -> Option<TxId> {
        let id = *self.by_hash.get(&self.hash(key))?;
        stored(id).filter(|s| s.key == *key).map(|_| id)
    }

    /// Files transaction `id` under `key` and returns what it must keep to be removed. A
    /// different key already filed under the same hash keeps its place.
    pub(super) fn insert(&mut self, key: TxKey<'_>, id: TxId) -> StoredKey {
        let hash = self.hash(&key);
        self.by_hash.entry(hash).or_insert(id);
        StoredKey {
            hash,
            key: key.into_owned(),
        }
    }

    /// Forgets transaction `id` (only if it is the one filed under its hash).
    pub(super) fn remove(&mut self, stored: &StoredKey, id: TxId) {
        if self.by_hash.get(&stored.hash) == Some(&id) {
            self.by_hash.remove(&stored.hash);
        }
    }
}

/// The hasher of a table whose keys already are hashes under a random key.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::CSeqValue;

    fn keys(branch: &str, host: &str, port: Option<u16>) -> MessageKeys {
        MessageKeys {
            call_id: "c1".into(),
            branch: branch.into(),
            via_host: host.into(),
            via_port: port,
            via_rport: false,
            cseq: CSeqValue {
                number: 1,
                method: Method::Invite,
            },
            from_tag: Some("f".into()),
            to_tag: None,
        }
    }

    #[test]
    fn lookups_match_every_field_and_ack_finds_its_invite() {
        let mut table = KeyTable::default();
        let k = keys("z9hG4bK1", "10.0.0.1", Some(5060));
        let stored = table.insert(TxKey::server(&k, Method::Invite), TxId(1));
        let find = |table: &KeyTable, key: &TxKey<'_>| table.get(key, |_| Some(&stored));
        assert_eq!(
            find(&table, &TxKey::server(&k, Method::Invite)),
            Some(TxId(1))
        );
        assert_eq!(find(&table, &TxKey::server(&k, Method::Ack)), Some(TxId(1)));
        assert_eq!(find(&table, &TxKey::server(&k, Method::Bye)), None);
        let other_port = keys("z9hG4bK1", "10.0.0.1", None);
        assert_eq!(
            find(&table, &TxKey::server(&other_port, Method::Invite)),
            None
        );
        assert_eq!(
            find(&table, &TxKey::client("z9hG4bK1", Method::Invite)),
            None
        );
        table.remove(&stored, TxId(2));
        assert_eq!(
            find(&table, &TxKey::server(&k, Method::Invite)),
            Some(TxId(1)),
            "not 2's"
        );
        table.remove(&stored, TxId(1));
        assert_eq!(find(&table, &TxKey::server(&k, Method::Invite)), None);
    }

    #[test]
    fn rfc2543_requests_are_keyed_by_call_id_cseq_and_from_tag() {
        let k = keys("", "10.0.0.1", None);
        let key = TxKey::server(&k, Method::Invite);
        assert_eq!(key.branch, "2543:c1:1:f");
    }

    #[test]
    fn a_hit_whose_stored_key_differs_is_no_match() {
        let mut table = KeyTable::default();
        let a = keys("z9hG4bKa", "h", None);
        let b = keys("z9hG4bKb", "h", None);
        table.insert(TxKey::server(&a, Method::Invite), TxId(1));
        let stored_b = table.insert(TxKey::server(&b, Method::Invite), TxId(2));
        // As if a's hash slot held a transaction whose key is b's (a collision).
        assert_eq!(
            table.get(&TxKey::server(&a, Method::Invite), |_| Some(&stored_b)),
            None
        );
    }
}
