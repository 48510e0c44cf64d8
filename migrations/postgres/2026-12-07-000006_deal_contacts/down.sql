DROP TABLE deal_contacts;
