-- One row per engagement delivery (sent, open, click, bounce, reply, forward, share, sms_*),
-- keyed by the delivery it was built from, so that applying a delivery again (a duplicate, a
-- replay) writes nothing new and the table can be rebuilt from the stored deliveries.
CREATE TABLE contact_activities (
    event_id BIGINT PRIMARY KEY NOT NULL,
    activity_type TEXT NOT NULL,
    contact_id BIGINT,
    campaign_id BIGINT,
    message_id BIGINT,
    link_url TEXT,
    detail TEXT,
    occurred_at TIMESTAMP NOT NULL
);

CREATE INDEX contact_activities_contact ON contact_activities (contact_id, occurred_at);
CREATE INDEX contact_activities_campaign ON contact_activities (campaign_id, activity_type);

-- The history: engagement deliveries stored before this table existed are applied again (their
-- other writes are version-checked, so applying them twice changes nothing else).
UPDATE webhook_events SET status = 'pending', error = NULL
WHERE status IN ('applied', 'ignored')
  AND event_type IN ('sent', 'open', 'click', 'bounce', 'reply', 'forward', 'share',
                     'sms_reply', 'sms_sent', 'sms_unsub');
