-- Nothing to do on SQLite: the PostgreSQL migration of the same number
-- tunes its GIN index. Kept so that both engines share schema versions.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
