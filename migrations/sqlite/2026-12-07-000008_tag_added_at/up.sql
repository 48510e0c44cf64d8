-- When each tag was added to the contact: the association's cdate from the API, or the time of
-- the delivery that added it. Tags held before this version take the time the mirror recorded
-- their addition until the next full run corrects it from the API.
ALTER TABLE contact_tag_states ADD COLUMN added_at TIMESTAMP;
UPDATE contact_tag_states SET added_at = updated_at WHERE present;
DROP VIEW contact_tags;
CREATE VIEW contact_tags AS
    SELECT contact_id, tag, updated_at, added_at FROM contact_tag_states WHERE present;
