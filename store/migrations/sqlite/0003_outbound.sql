-- Outbound calling (the toll-fraud guard): per tenant, the destination prefixes it may call and
-- its outbound rate and concurrency caps. A tenant without a row may not place calls. The same
-- on SQLite and PostgreSQL.

CREATE TABLE outbound_policies (
    tenant_id        TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    allowed_prefixes TEXT NOT NULL DEFAULT '[]',
    max_cps          INTEGER NOT NULL CHECK (max_cps >= 1),
    max_concurrent   INTEGER NOT NULL CHECK (max_concurrent >= 0),
    updated_at       BIGINT NOT NULL
);
