-- Deal custom fields: their definitions (`dealCustomFieldMeta`, read in full by every
-- reconciliation) and the deals' values (`dealCustomFieldData`, read in full by full runs and
-- written by deal deliveries' `deal[fields]`). A value carries the source time of what wrote
-- it; a value no full run saw and no delivery wrote during that run is removed.
CREATE TABLE deal_fields (
    id BIGINT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT,
    options TEXT,
    display_order BIGINT
);

CREATE TABLE deal_field_values (
    deal_id BIGINT NOT NULL,
    field_id BIGINT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT,
    PRIMARY KEY (deal_id, field_id)
);

CREATE INDEX deal_field_values_field ON deal_field_values (field_id);

-- What the API's deal records add: the account (ActiveCampaign's organisation) the deal is
-- for, the win probability and the due time of the next open task.
ALTER TABLE deals ADD COLUMN account_id BIGINT;
ALTER TABLE deals ADD COLUMN win_probability INTEGER;
ALTER TABLE deals ADD COLUMN next_task_at TIMESTAMP;

CREATE INDEX deals_account ON deals (account_id);
