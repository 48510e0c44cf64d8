-- acmirror schema for SQLite. Kept in step with migrations/postgres.
-- Times are UTC, stored by diesel as ISO text ("YYYY-MM-DD HH:MM:SS[.ffffff]"), which sorts
-- correctly as text.

CREATE TABLE acmirror_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE contacts (
    id BIGINT PRIMARY KEY NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    created_at TIMESTAMP,
    -- source time of the scalar state held; NULL for a stub known only by reference
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    -- the last full reconciliation run that saw this id upstream
    seen_run BIGINT,
    -- source time of the tag set held; every event and API page carries the whole set
    tags_updated_at TIMESTAMP
);
CREATE INDEX contacts_email ON contacts (email);
CREATE INDEX contacts_updated_at ON contacts (updated_at);

CREATE TABLE tags (
    name TEXT PRIMARY KEY NOT NULL,
    id BIGINT
);
CREATE UNIQUE INDEX tags_id ON tags (id);

-- One row per contact and tag ever seen (updated_at: when it was last added or removed);
-- removed tags stay as tombstones (present = 0). Reporting reads
-- the contact_tags view.
CREATE TABLE contact_tag_states (
    contact_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    present BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE INDEX contact_tag_states_tag ON contact_tag_states (tag, contact_id);
CREATE VIEW contact_tags AS
    SELECT contact_id, tag, updated_at FROM contact_tag_states WHERE present;

CREATE TABLE fields (
    id BIGINT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    perstag TEXT,
    type TEXT
);

CREATE TABLE contact_field_values (
    contact_id BIGINT NOT NULL,
    field_id BIGINT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, field_id)
);
CREATE INDEX contact_field_values_field ON contact_field_values (field_id, value);

CREATE TABLE lists (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE contact_lists (
    contact_id BIGINT NOT NULL,
    list_id BIGINT NOT NULL,
    status INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, list_id)
);
CREATE INDEX contact_lists_list ON contact_lists (list_id, status);

CREATE TABLE pipelines (
    id BIGINT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL
);

CREATE TABLE stages (
    id BIGINT PRIMARY KEY NOT NULL,
    pipeline_id BIGINT,
    title TEXT NOT NULL
);
CREATE INDEX stages_pipeline ON stages (pipeline_id);

CREATE TABLE deals (
    id BIGINT PRIMARY KEY NOT NULL,
    title TEXT,
    value_cents BIGINT,
    currency TEXT,
    pipeline_id BIGINT,
    stage_id BIGINT,
    owner_id BIGINT,
    contact_id BIGINT,
    status INTEGER,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT
);
CREATE INDEX deals_stage ON deals (stage_id);
CREATE INDEX deals_pipeline ON deals (pipeline_id, stage_id);
CREATE INDEX deals_status ON deals (status);
CREATE INDEX deals_contact ON deals (contact_id);

CREATE TABLE deal_notes (
    id BIGINT PRIMARY KEY NOT NULL,
    deal_id BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP
);
CREATE INDEX deal_notes_deal ON deal_notes (deal_id);

CREATE TABLE deal_tasks (
    id BIGINT PRIMARY KEY NOT NULL,
    deal_id BIGINT NOT NULL,
    task_type TEXT,
    title TEXT,
    note TEXT,
    due_at TIMESTAMP,
    done_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deal_tasks_deal ON deal_tasks (deal_id);

CREATE TABLE contact_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    contact_id BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP,
    -- the delivery the note came from: replaying it does not add the note twice
    event_id BIGINT NOT NULL UNIQUE
);
CREATE INDEX contact_notes_contact ON contact_notes (contact_id);

CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    body_sha256 TEXT NOT NULL UNIQUE,
    event_type TEXT,
    occurred_at TIMESTAMP,
    received_at TIMESTAMP NOT NULL,
    last_received_at TIMESTAMP NOT NULL,
    initiated_from TEXT,
    contact_id BIGINT,
    deal_id BIGINT,
    status TEXT NOT NULL,
    error TEXT,
    deliveries INTEGER NOT NULL DEFAULT 1,
    applied_at TIMESTAMP,
    body BLOB NOT NULL
);
CREATE INDEX webhook_events_status ON webhook_events (status, id);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_type ON webhook_events (event_type);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    mode TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status TEXT NOT NULL,
    api_requests BIGINT NOT NULL DEFAULT 0,
    records_fetched BIGINT NOT NULL DEFAULT 0,
    records_changed BIGINT NOT NULL DEFAULT 0,
    records_deleted BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    -- what the run covers and how far it got, as JSON, so that an interrupted run resumes
    scope TEXT NOT NULL DEFAULT '{}',
    checkpoint TEXT NOT NULL DEFAULT '{}',
    -- the newest source time the run saw; the next incremental run starts from here
    watermark TIMESTAMP,
    heartbeat_at TIMESTAMP
);
CREATE INDEX sync_runs_status ON sync_runs (status, id);

-- One row per named lock; the holder renews expires_at while it works.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
