-- TicketFlow schema, SQLite dialect. Times are Unix microseconds (UTC) in
-- both dialects so that the store code and keyset cursors are shared.

-- +goose Up
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL UNIQUE,
    username       TEXT    NOT NULL,
    username_key   TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    token_version  INTEGER NOT NULL DEFAULT 0,
    date_joined    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX users_role_active ON users (role, is_active);

CREATE TABLE sessions (
    id_hash     BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    user_agent  TEXT    NOT NULL DEFAULT '',
    ip          TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    id_hash     BLOB    PRIMARY KEY,
    family      TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    category       TEXT    NOT NULL CHECK (category IN ('Technical', 'Financial', 'Product')),
    status         TEXT    NOT NULL CHECK (status IN ('New', 'Under Review', 'Resolved')),
    priority       INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    created_by     INTEGER NOT NULL REFERENCES users (id),
    assignee_id    INTEGER REFERENCES users (id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_owner_created ON tickets (created_by, created_at, id);
CREATE INDEX tickets_status_created ON tickets (status, created_at, id);
CREATE INDEX tickets_category_created ON tickets (category, created_at, id);
CREATE INDEX tickets_category_status_created ON tickets (category, status, created_at, id);
CREATE INDEX tickets_priority ON tickets (priority, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id) WHERE assignee_id IS NOT NULL;

-- Maintained counts so that list totals never scan the table. user_id 0 holds
-- the totals over all users.
CREATE TABLE ticket_counts (
    user_id   INTEGER NOT NULL,
    category  TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (user_id, category, status)
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_counts (user_id, category, status, n) VALUES (0, new.category, new.status, 1)
        ON CONFLICT (user_id, category, status) DO UPDATE SET n = n + 1;
    INSERT INTO ticket_counts (user_id, category, status, n) VALUES (new.created_by, new.category, new.status, 1)
        ON CONFLICT (user_id, category, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tickets_count_update AFTER UPDATE OF category, status, created_by ON tickets
WHEN old.category IS NOT new.category OR old.status IS NOT new.status OR old.created_by IS NOT new.created_by BEGIN
    UPDATE ticket_counts SET n = n - 1 WHERE user_id IN (0, old.created_by) AND category = old.category AND status = old.status;
    INSERT INTO ticket_counts (user_id, category, status, n) VALUES (0, new.category, new.status, 1)
        ON CONFLICT (user_id, category, status) DO UPDATE SET n = n + 1;
    INSERT INTO ticket_counts (user_id, category, status, n) VALUES (new.created_by, new.category, new.status, 1)
        ON CONFLICT (user_id, category, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_counts SET n = n - 1 WHERE user_id IN (0, old.created_by) AND category = old.category AND status = old.status;
END;
-- +goose StatementEnd

-- Full-text index over title, description and the creator's username.
-- Contentless: the text lives in tickets; rowid is the ticket id.
CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    title, description, username,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- +goose StatementBegin
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, title, description, username)
    VALUES (new.id, new.title, new.description, (SELECT username FROM users WHERE id = new.created_by));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
    INSERT INTO tickets_fts (rowid, title, description, username)
    VALUES (new.id, new.title, new.description, (SELECT username FROM users WHERE id = new.created_by));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
END;
-- +goose StatementEnd

CREATE TABLE status_history (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    from_status  TEXT    NOT NULL DEFAULT '',
    to_status    TEXT    NOT NULL,
    changed_by   INTEGER NOT NULL REFERENCES users (id),
    note         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX status_history_ticket ON status_history (ticket_id, id);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL REFERENCES users (id),
    body        TEXT    NOT NULL,
    internal    INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX comments_ticket ON comments (ticket_id, id);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    comment_id    INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    blob_key      TEXT    NOT NULL UNIQUE,
    filename      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    uploaded_by   INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_ticket ON attachments (ticket_id, id);
CREATE INDEX attachments_comment ON attachments (comment_id) WHERE comment_id IS NOT NULL;

-- Blob keys reserved before their bytes are written. A key stays here until
-- the attachment row that references it commits (same transaction deletes
-- it), so a crash mid-upload leaves a record of the orphan to collect.
CREATE TABLE blob_intents (
    blob_key    TEXT    PRIMARY KEY,
    created_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE blob_intents;
DROP TABLE attachments;
DROP TABLE comments;
DROP TABLE status_history;
DROP TABLE tickets_fts;
DROP TABLE ticket_counts;
DROP TABLE tickets;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE settings;
