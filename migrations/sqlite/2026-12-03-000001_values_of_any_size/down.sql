ALTER TABLE contacts DROP COLUMN phone_updated_at;
ALTER TABLE contacts DROP COLUMN last_name_updated_at;
ALTER TABLE contacts DROP COLUMN first_name_updated_at;
ALTER TABLE contacts DROP COLUMN email_updated_at;

DROP INDEX contact_field_values_field;
CREATE INDEX contact_field_values_field ON contact_field_values (field_id, value);
