-- Kept in step with migrations/postgres, which replaces hash indexes over repeated values.
-- SQLite has no hash indexes; only the bound on `event_type` applies: intake keeps at most its
-- first 100 characters (the body keeps the whole `type`).

UPDATE webhook_events SET event_type = substr(event_type, 1, 100) WHERE length(event_type) > 100;
