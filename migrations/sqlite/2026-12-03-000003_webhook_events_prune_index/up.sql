-- Lets retention find old applied/ignored deliveries by status and age without a sort.
CREATE INDEX webhook_events_prune ON webhook_events (status, received_at);
