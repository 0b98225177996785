-- Initial schema (SQLite). Times are BIGINT unix milliseconds, ids are TEXT (uuid v7 made in
-- Rust), JSON is TEXT, flags are INTEGER 0/1, money is BIGINT micro-units. Keep in step with
-- ../postgres/0001_init.sql: the same columns, only the types differ.

CREATE TABLE tenants (
    id                     TEXT PRIMARY KEY NOT NULL,
    name                   TEXT NOT NULL,
    rate_per_minute_micros BIGINT NOT NULL CHECK (rate_per_minute_micros >= 0),
    billing_increment_secs INTEGER NOT NULL CHECK (billing_increment_secs > 0),
    min_billable_secs      INTEGER NOT NULL CHECK (min_billable_secs >= 0),
    max_concurrent_calls   INTEGER NOT NULL CHECK (max_concurrent_calls >= 0),
    paused                 INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at             BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

CREATE TABLE trunks (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE,
    address       TEXT NOT NULL,
    transport     TEXT NOT NULL,
    inbound_cidrs TEXT NOT NULL DEFAULT '[]',
    username      TEXT,
    password      TEXT,
    codecs        TEXT NOT NULL DEFAULT '[]',
    register      INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
    created_at    BIGINT NOT NULL
);

CREATE TABLE agents (
    id         TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX agents_tenant_idx ON agents (tenant_id);

CREATE TABLE numbers (
    number     TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX numbers_tenant_idx ON numbers (tenant_id);
CREATE INDEX numbers_agent_idx ON numbers (agent_id);

CREATE TABLE wallets (
    tenant_id         TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    balance_micros    BIGINT NOT NULL DEFAULT 0 CHECK (balance_micros >= 0),
    currency          TEXT NOT NULL,
    last_topup_micros BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id                   TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    amount_micros        BIGINT NOT NULL CHECK (amount_micros <> 0),
    kind                 TEXT NOT NULL
        CHECK (kind IN ('topup', 'call_charge', 'refund', 'adjustment')),
    idempotency_key      TEXT NOT NULL UNIQUE,
    call_id              TEXT,
    description          TEXT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    created_at           BIGINT NOT NULL
);
CREATE INDEX ledger_entries_tenant_idx ON ledger_entries (tenant_id, created_at);
CREATE INDEX ledger_entries_call_idx ON ledger_entries (call_id);

CREATE TABLE call_records (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE SET NULL,
    agent_id     TEXT REFERENCES agents (id) ON DELETE SET NULL,
    trunk_id     TEXT REFERENCES trunks (id) ON DELETE SET NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sip_call_id  TEXT NOT NULL,
    from_uri     TEXT NOT NULL,
    to_uri       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('ringing', 'live', 'ended', 'refused')),
    started_at   BIGINT NOT NULL,
    answered_at  BIGINT,
    ended_at     BIGINT,
    last_tick_at BIGINT,
    billed_secs  BIGINT NOT NULL DEFAULT 0 CHECK (billed_secs >= 0),
    cost_micros  BIGINT NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    hangup_cause TEXT,
    hangup_by    TEXT,
    media        TEXT,
    node         TEXT
);
CREATE INDEX call_records_tenant_idx ON call_records (tenant_id, started_at);
CREATE INDEX call_records_started_idx ON call_records (started_at);
CREATE INDEX call_records_sip_call_idx ON call_records (sip_call_id);
CREATE INDEX call_records_state_idx ON call_records (state);

CREATE TABLE transcript_turns (
    id          TEXT PRIMARY KEY NOT NULL,
    call_id     TEXT NOT NULL REFERENCES call_records (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq > 0),
    speaker     TEXT NOT NULL CHECK (speaker IN ('caller', 'agent')),
    text        TEXT NOT NULL,
    dtmf        TEXT,
    at          BIGINT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1)),
    latency     TEXT,
    UNIQUE (call_id, seq)
);

CREATE TABLE call_cost_lines (
    id                TEXT PRIMARY KEY NOT NULL,
    call_id           TEXT NOT NULL REFERENCES call_records (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN
        ('stt_secs', 'llm_input_tokens', 'llm_output_tokens', 'tts_chars', 'telephony')),
    provider          TEXT NOT NULL,
    quantity          BIGINT NOT NULL CHECK (quantity >= 0),
    unit_price_micros BIGINT NOT NULL CHECK (unit_price_micros >= 0),
    cost_micros       BIGINT NOT NULL CHECK (cost_micros >= 0),
    created_at        BIGINT NOT NULL
);
CREATE INDEX call_cost_lines_call_idx ON call_cost_lines (call_id, created_at);
