-- Call legs: a call record may name the call it was placed for (its parent), e.g. the B-leg a
-- transfer places and bridges to the caller's A-leg. No foreign key: the switch writes records
-- asynchronously, so a leg may be stored before its parent. The same on SQLite and PostgreSQL
-- (keep in step with ../sqlite/0004_call_legs.sql).

ALTER TABLE call_records ADD COLUMN parent_call_id TEXT NULL;
CREATE INDEX call_records_parent_idx ON call_records (parent_call_id);
