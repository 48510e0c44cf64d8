DROP TABLE account_field_values;
DROP TABLE account_fields;
DROP TABLE account_contacts;
DROP TABLE accounts;
