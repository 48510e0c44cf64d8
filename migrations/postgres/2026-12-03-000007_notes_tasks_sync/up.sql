-- Notes and tasks are read from the API as well as from webhooks: each row gets a version
-- (`updated_at`, the upstream `mdate`/`udate` or the delivery's time), a deletion mark and the
-- time the mirror last wrote it.
ALTER TABLE deal_notes ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE deal_notes ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE deal_notes ADD COLUMN synced_at TIMESTAMP;
ALTER TABLE deal_tasks ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE deal_tasks ADD COLUMN synced_at TIMESTAMP;

-- A contact note read from the API has ActiveCampaign's id and no delivery; one from a webhook
-- has a delivery and no id until reconciliation matches it.
ALTER TABLE contact_notes ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE contact_notes ADD COLUMN ac_id BIGINT UNIQUE;
ALTER TABLE contact_notes ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE contact_notes ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE contact_notes ADD COLUMN synced_at TIMESTAMP;
UPDATE contact_notes SET updated_at = created_at;
