CREATE TABLE contact_notes_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    contact_id BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP,
    event_id BIGINT NOT NULL UNIQUE
);
INSERT INTO contact_notes_old (id, contact_id, note, created_at, event_id)
    SELECT id, contact_id, note, created_at, event_id FROM contact_notes WHERE event_id IS NOT NULL;
DROP TABLE contact_notes;
ALTER TABLE contact_notes_old RENAME TO contact_notes;
CREATE INDEX contact_notes_contact ON contact_notes (contact_id);

ALTER TABLE deal_tasks DROP COLUMN synced_at;
ALTER TABLE deal_tasks DROP COLUMN deleted_at;
ALTER TABLE deal_notes DROP COLUMN synced_at;
ALTER TABLE deal_notes DROP COLUMN deleted_at;
ALTER TABLE deal_notes DROP COLUMN updated_at;
