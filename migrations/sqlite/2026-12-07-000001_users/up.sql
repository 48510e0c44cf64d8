-- The account's users (deal owners, note and task authors), so that owner_id reports as a
-- name. Read in full by every reconciliation; no source times: the newest read wins.
CREATE TABLE users (
    id BIGINT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL
);
