-- Email notifications: the outbox (written in the transaction of the change
-- it reports, sent afterwards by a worker) and per-user opt-outs.

-- +goose Up
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    notice          TEXT    NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address         TEXT    NOT NULL,
    ticket_id       INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
    chat_id         INTEGER REFERENCES chats (id) ON DELETE SET NULL,
    -- What the mail says (JSON), captured at the time of the change.
    data            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    -- Attempts started; a claim increments it, so it also tells one claim
    -- from the next and a worker whose lease ran out cannot settle a row
    -- another worker has claimed since.
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A claimed row is left alone by other workers until then.
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX mail_outbox_status ON mail_outbox (status, id);

-- Notices a user turned off; everything else is on.
CREATE TABLE mail_optouts (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notice      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, notice)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE mail_optouts;
DROP TABLE mail_outbox;
