-- The secondary contacts of deals (`contactDeals`; the primary one is deals.contact_id), with
-- their role. Read in full by full runs; an association no full run saw is removed.
CREATE TABLE deal_contacts (
    id BIGINT PRIMARY KEY NOT NULL,
    deal_id BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    role_id BIGINT,
    created_at TIMESTAMP,
    synced_at TIMESTAMP NOT NULL,
    seen_run BIGINT
);

CREATE INDEX deal_contacts_deal ON deal_contacts (deal_id);
CREATE INDEX deal_contacts_contact ON deal_contacts (contact_id);
