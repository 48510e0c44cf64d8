ALTER TABLE contacts DROP COLUMN phone_updated_at;
ALTER TABLE contacts DROP COLUMN last_name_updated_at;
ALTER TABLE contacts DROP COLUMN first_name_updated_at;
ALTER TABLE contacts DROP COLUMN email_updated_at;

-- The btree indexes come back as they were: long values then fail again.
DROP INDEX webhook_events_type;
CREATE INDEX webhook_events_type ON webhook_events (event_type);
DROP INDEX contacts_email;
CREATE INDEX contacts_email ON contacts (email);
DROP INDEX contact_field_values_value;
DROP INDEX contact_field_values_field;
CREATE INDEX contact_field_values_field ON contact_field_values (field_id, value);
