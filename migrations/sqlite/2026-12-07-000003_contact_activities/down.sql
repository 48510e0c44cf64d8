DROP TABLE contact_activities;
