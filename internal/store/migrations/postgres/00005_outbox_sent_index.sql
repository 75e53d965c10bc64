-- Mails by status and when they were sent, for the purge of old sent ones.
-- Without it the purge visited every sent mail through the status index,
-- reading the whole outbox (each server start filled SQLite's page cache
-- with it).

-- +goose Up
CREATE INDEX mail_outbox_sent ON mail_outbox (status, sent_at);

-- +goose Down
DROP INDEX mail_outbox_sent;
