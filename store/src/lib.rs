//! Storage for the switch (sqlx): SQLite embedded by default, PostgreSQL for multi-node;
//! migrations for both; tenants, API keys, trunks, agents, numbers, wallets and their ledger,
//! call records, transcripts and cost lines; and the demo seed.
//!
//! Open a [`Store`] with [`Store::connect`] (`sqlite://switch.db` or `postgres://…`); it runs
//! the migrations. Every query is written once and runs on both backends through sqlx's `Any`
//! driver; see the `connect` module source for why and for the SQLite settings (WAL, foreign
//! keys, busy timeout).
//!
//! Conventions: ids are uuid v7 strings, times are unix milliseconds (`i64`), money is `i64`
//! micro-units (never floats), JSON documents are passed as text. Rows are plain structs with
//! public fields that serialise with serde (secrets such as key hashes and trunk passwords are
//! skipped).
//!
//! Never depends on: `sip`, `rtp`, `actors`, `admin-api`, `switch`.

mod admission;
mod agents;
mod api_keys;
mod billing;
mod call_search;
mod calls;
mod catalog_admin;
mod connect;
mod costs;
mod demo;
mod error;
mod numbers;
mod outbound;
mod pages;
mod rows;
mod tenant_admin;
mod tenants;
mod transcripts;
mod trunks;
mod wallet;
mod webhooks;

pub use admission::{Admission, Reservation};
pub use agents::Agent;
pub use api_keys::ApiKey;
pub use billing::{
    AlertKind, CallCharge, CallSettlement, ChargeOutcome, WalletAlert, crossed, settle_key,
    tick_key,
};
pub use call_search::{CallFilter, valid_number_filter};
pub use calls::{CallEnd, CallRecord, CallState, Direction, NewCall};
pub use connect::{Backend, Store, redact_url};
pub use costs::{CostKind, CostLine, NewCostLine};
pub use demo::{DEMO_MAX_CONCURRENT_CALLS, DEMO_SEED_KEY, DemoSeed, DemoSeeded};
pub use error::StoreError;
pub use numbers::{Number, Route};
pub use outbound::OutboundPolicy;
pub use pages::{MAX_PAGE_SIZE, Page, PageKey, PageRequest};
pub use tenant_admin::TenantUpdate;
pub use tenants::{DEFAULT_CURRENCY, NewTenant, Tenant};
pub use transcripts::{NewTurn, Speaker, TranscriptTurn};
pub use trunks::{NewTrunk, Trunk};
pub use wallet::{DebitOutcome, LedgerEntry, LedgerKind, Wallet};
pub use webhooks::{
    Delivery, DeliveryAttempt, DeliveryStatus, NewDelivery, NewWebhook, Webhook, WebhookUpdate,
};
