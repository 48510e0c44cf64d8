DROP INDEX webhook_events_prune;
