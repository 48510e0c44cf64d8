-- Values of any size, and contact columns versioned one by one.
--
-- A btree entry holds at most about 2.7 KB on PostgreSQL, so a btree over unbounded text makes
-- the insert of a long value fail ("index row requires ... bytes"). Text that can be long is
-- indexed by hash instead: equality lookups (`value = '...'`) still use the index, and an entry
-- is four bytes whatever the value's length.

DROP INDEX contact_field_values_field;
CREATE INDEX contact_field_values_field ON contact_field_values (field_id);
CREATE INDEX contact_field_values_value ON contact_field_values USING hash (value);

DROP INDEX contacts_email;
CREATE INDEX contacts_email ON contacts USING hash (email);

DROP INDEX webhook_events_type;
CREATE INDEX webhook_events_type ON webhook_events USING hash (event_type);

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
