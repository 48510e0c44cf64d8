-- Notes and tasks are read from the API as well as from webhooks: each row gets a version
-- (`updated_at`, the upstream `mdate`/`udate` or the delivery's time), a deletion mark and the
-- time the mirror last wrote it.
ALTER TABLE deal_notes ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE deal_notes ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE deal_notes ADD COLUMN synced_at TIMESTAMP;
ALTER TABLE deal_tasks ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE deal_tasks ADD COLUMN synced_at TIMESTAMP;

-- A contact note read from the API has ActiveCampaign's id and no delivery; one from a webhook
-- has a delivery and no id until reconciliation matches it. SQLite cannot drop NOT NULL in
-- place, so the table is rebuilt.
CREATE TABLE contact_notes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    contact_id BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP,
    event_id BIGINT UNIQUE,
    ac_id BIGINT UNIQUE,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    synced_at TIMESTAMP
);
INSERT INTO contact_notes_new (id, contact_id, note, created_at, event_id, updated_at)
    SELECT id, contact_id, note, created_at, event_id, created_at FROM contact_notes;
DROP TABLE contact_notes;
ALTER TABLE contact_notes_new RENAME TO contact_notes;
CREATE INDEX contact_notes_contact ON contact_notes (contact_id);
