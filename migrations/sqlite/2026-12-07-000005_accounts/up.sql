-- Accounts (ActiveCampaign's organisations), the contacts that work for them and their custom
-- field values. Written by the account webhooks (`account_add`, `account_update`,
-- `account_contact_add`, `account_contact_update`) and read in full by full runs (the API has
-- no filter by modification time for them). An account or account contact gone upstream is
-- marked deleted and a value emptied, so that an older delivery cannot bring them back.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    url TEXT,
    owner_id BIGINT,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT
);

CREATE TABLE account_contacts (
    id BIGINT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    job_title TEXT,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT
);

CREATE INDEX account_contacts_account ON account_contacts (account_id);
CREATE INDEX account_contacts_contact ON account_contacts (contact_id);

CREATE TABLE account_fields (
    id BIGINT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT,
    options TEXT,
    display_order BIGINT
);

CREATE TABLE account_field_values (
    account_id BIGINT NOT NULL,
    field_id BIGINT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT,
    PRIMARY KEY (account_id, field_id)
);

CREATE INDEX account_field_values_field ON account_field_values (field_id);
