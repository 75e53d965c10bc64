-- Nothing to do on PostgreSQL: the SQLite migration of the same number
-- tunes its full-text index's merging. Kept so that both engines share
-- schema versions.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
