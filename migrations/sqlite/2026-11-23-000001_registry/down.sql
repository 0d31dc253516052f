DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE inspectors;
DROP TABLE institutions;
