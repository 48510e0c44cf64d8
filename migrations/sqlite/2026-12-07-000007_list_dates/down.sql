ALTER TABLE contact_lists DROP COLUMN unsubscribe_reason;
ALTER TABLE contact_lists DROP COLUMN unsubscribed_at;
ALTER TABLE contact_lists DROP COLUMN subscribed_at;
