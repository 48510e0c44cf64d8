-- When a contact subscribed to a list and unsubscribed from it, and why: from the API's
-- contactLists (sdate, udate, unsubreason) and from subscribe and unsubscribe deliveries.
-- Rows written before this version get them from the next full run.
ALTER TABLE contact_lists ADD COLUMN subscribed_at TIMESTAMP;
ALTER TABLE contact_lists ADD COLUMN unsubscribed_at TIMESTAMP;
ALTER TABLE contact_lists ADD COLUMN unsubscribe_reason TEXT;
