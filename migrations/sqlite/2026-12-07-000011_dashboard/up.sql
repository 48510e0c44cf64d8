-- Deliveries received per minute and event type, counted when they are stored, so that the
-- dashboard's 24-hour chart reads at most a few thousand rows however large webhook_events is.
-- Each process counts under its own `writer`, so replicas never update the same row.
CREATE TABLE delivery_minutes (
    minute TIMESTAMP NOT NULL,
    event_type TEXT NOT NULL,
    writer BIGINT NOT NULL,
    deliveries BIGINT NOT NULL,
    PRIMARY KEY (minute, event_type, writer)
);

INSERT INTO delivery_minutes (minute, event_type, writer, deliveries)
SELECT substr(received_at, 1, 16) || ':00', coalesce(event_type, ''), 0, count(*)
FROM webhook_events
WHERE received_at >= datetime('now', '-1 day')
GROUP BY 1, 2;

-- The apply backlog and lag, sampled once a minute by serve.
CREATE TABLE apply_samples (
    at TIMESTAMP PRIMARY KEY NOT NULL,
    backlog BIGINT NOT NULL,
    lag_seconds BIGINT NOT NULL
);

-- 429 answers a reconciliation run received.
ALTER TABLE sync_runs ADD COLUMN rate_limited BIGINT NOT NULL DEFAULT 0;
