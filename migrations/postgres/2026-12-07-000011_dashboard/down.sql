ALTER TABLE sync_runs DROP COLUMN rate_limited;
DROP TABLE apply_samples;
DROP TABLE delivery_minutes;
