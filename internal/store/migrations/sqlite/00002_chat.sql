-- Live support chats, and the external references (webhook deliveries) that
-- tickets were made from.

-- +goose Up
CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    status      TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    -- The ticket the chat became; the link is read both ways.
    ticket_id   INTEGER UNIQUE REFERENCES tickets (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    closed_at   INTEGER
) STRICT;
CREATE INDEX chats_user ON chats (user_id, id);
CREATE INDEX chats_status_updated ON chats (status, updated_at, id);
-- At most one open chat per user: starting a chat twice finds the first.
CREATE UNIQUE INDEX chats_one_open ON chats (user_id) WHERE status = 'open';

CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL REFERENCES users (id),
    from_agent  INTEGER NOT NULL DEFAULT 0 CHECK (from_agent IN (0, 1)),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_messages_chat ON chat_messages (chat_id, id);

-- Keys of outside events a ticket was made from (e.g. "tawk:event:<id>"),
-- so that a redelivered webhook finds its ticket instead of making another.
CREATE TABLE external_refs (
    ref         TEXT    PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE external_refs;
DROP TABLE chat_messages;
DROP TABLE chats;
