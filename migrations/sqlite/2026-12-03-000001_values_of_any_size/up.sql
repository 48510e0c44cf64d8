-- Values of any size, and contact columns versioned one by one. Kept in step with
-- migrations/postgres.
--
-- SQLite indexes text of any length, but an index over custom field values copies every
-- value (up to 1 MiB each) into the index; nothing in acmirror looks values up, so the index
-- covers the field only.

DROP INDEX contact_field_values_field;
CREATE INDEX contact_field_values_field ON contact_field_values (field_id);

-- Source time of each scalar column. A webhook block that leaves a key out leaves that column
-- and its version alone, so each column is ordered against later input on its own.
ALTER TABLE contacts ADD COLUMN email_updated_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN first_name_updated_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN last_name_updated_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN phone_updated_at TIMESTAMP;
UPDATE contacts SET
    email_updated_at = updated_at,
    first_name_updated_at = updated_at,
    last_name_updated_at = updated_at,
    phone_updated_at = updated_at;
