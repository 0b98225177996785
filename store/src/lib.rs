//! Storage for the switch (sqlx): SQLite embedded by default, PostgreSQL for multi-node; migrations
//! for both; tenants, API keys, trunks, agents, numbers, wallets and their ledger, call records,
//! transcripts and cost lines; and the demo seed.
//!
//! Never depends on: `sip`, `rtp`, `actors`, `admin-api`, `switch`.
