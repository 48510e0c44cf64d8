DROP VIEW contact_tags;
CREATE VIEW contact_tags AS
    SELECT contact_id, tag, updated_at FROM contact_tag_states WHERE present;
ALTER TABLE contact_tag_states DROP COLUMN added_at;
