DROP TABLE messages;
DROP TABLE campaigns;
