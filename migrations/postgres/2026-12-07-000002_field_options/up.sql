-- The options of dropdown, radio, checkbox and multiselect contact fields. Read in full with
-- the fields by every reconciliation; an option a field no longer lists is removed.
CREATE TABLE field_options (
    id BIGINT PRIMARY KEY NOT NULL,
    field_id BIGINT NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    ordernum BIGINT
);

CREATE INDEX field_options_field ON field_options (field_id);
