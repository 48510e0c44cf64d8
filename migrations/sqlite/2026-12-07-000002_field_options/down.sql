DROP TABLE field_options;
