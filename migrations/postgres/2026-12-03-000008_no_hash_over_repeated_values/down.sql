DROP INDEX contacts_email;
CREATE INDEX contacts_email ON contacts USING hash (email);
DROP INDEX webhook_events_type;
CREATE INDEX webhook_events_type ON webhook_events USING hash (event_type);
CREATE INDEX contact_field_values_value ON contact_field_values USING hash (value);
