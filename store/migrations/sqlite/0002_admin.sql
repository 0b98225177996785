-- Admin API additions (SQLite): webhook endpoints per tenant and their delivery log. Keep in
-- step with ../postgres/0002_admin.sql: the same columns, only the flag type differs.

CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL DEFAULT '[]',
    secret     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY NOT NULL,
    webhook_id   TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    event        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    status_code  INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at, id);

-- Keyset pagination of the admin API's lists.
CREATE INDEX tenants_created_idx ON tenants (created_at, id);
CREATE INDEX trunks_created_idx ON trunks (created_at, id);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at, id);
CREATE INDEX agents_tenant_created_idx ON agents (tenant_id, created_at, id);
CREATE INDEX numbers_tenant_created_idx ON numbers (tenant_id, created_at, number);
