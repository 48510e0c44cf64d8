-- The account's campaigns and their messages, so that engagement rows (contact_activities)
-- report by name. Read in full by full reconciliations (the API offers no date filter);
-- engagement deliveries add the ones the mirror does not know yet, with updated_at NULL so
-- that the next API read replaces them. mdate is the row's version: the newer wins.
CREATE TABLE campaigns (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    campaign_type TEXT,
    status INTEGER,
    message_id BIGINT,
    sent_at TIMESTAMP,
    last_sent_at TIMESTAMP,
    send_amount BIGINT,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    seen_run BIGINT,
    synced_at TIMESTAMP NOT NULL
);

-- A message's envelope only; its HTML and text bodies are never stored.
CREATE TABLE messages (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    from_name TEXT NOT NULL,
    from_email TEXT NOT NULL,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    seen_run BIGINT,
    synced_at TIMESTAMP NOT NULL
);
