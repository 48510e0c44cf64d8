DROP INDEX deals_account;
ALTER TABLE deals DROP COLUMN next_task_at;
ALTER TABLE deals DROP COLUMN win_probability;
ALTER TABLE deals DROP COLUMN account_id;
DROP TABLE deal_field_values;
DROP TABLE deal_fields;
