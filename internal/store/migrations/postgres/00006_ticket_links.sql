-- A ticket's chat and whether it has files of its own (not a comment's),
-- kept on the ticket row by triggers. Every list row and every detail
-- needs both; looking them up in chats and attachments took two index
-- probes per row, a quarter of a list page's query.

-- +goose Up
ALTER TABLE tickets ADD COLUMN chat_id BIGINT;
ALTER TABLE tickets ADD COLUMN has_attachments BOOLEAN NOT NULL DEFAULT false;
UPDATE tickets SET chat_id = c.id FROM chats c WHERE c.ticket_id = tickets.id;
UPDATE tickets SET has_attachments = true
 WHERE id IN (SELECT ticket_id FROM attachments WHERE comment_id IS NULL);

-- +goose StatementBegin
CREATE FUNCTION tickets_chat_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.ticket_id IS NOT DISTINCT FROM NEW.ticket_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.ticket_id IS NOT NULL THEN
        UPDATE tickets SET chat_id = NULL WHERE id = OLD.ticket_id AND chat_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.ticket_id IS NOT NULL THEN
        UPDATE tickets SET chat_id = NEW.id WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER chats_ticket_link AFTER INSERT OR DELETE OR UPDATE OF ticket_id ON chats
    FOR EACH ROW EXECUTE FUNCTION tickets_chat_link();

-- +goose StatementBegin
-- Only a ticket's own files count, so a comment's file going away leaves
-- the ticket row alone. The recount after a removal sees the statement's
-- snapshot: a file added to the same ticket by a transaction that commits
-- meanwhile could be missed. Nothing removes or moves files today (they go
-- only with their ticket or comment), so that cannot happen yet.
CREATE FUNCTION tickets_attachment_flag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.comment_id IS NULL THEN
        UPDATE tickets t SET has_attachments = false
         WHERE t.id = OLD.ticket_id AND t.has_attachments
           AND NOT EXISTS (SELECT 1 FROM attachments x WHERE x.ticket_id = t.id AND x.comment_id IS NULL);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.comment_id IS NULL THEN
        UPDATE tickets SET has_attachments = true WHERE id = NEW.ticket_id AND NOT has_attachments;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER attachments_ticket_flag AFTER INSERT OR DELETE OR UPDATE OF ticket_id, comment_id ON attachments
    FOR EACH ROW EXECUTE FUNCTION tickets_attachment_flag();

-- +goose Down
DROP TRIGGER attachments_ticket_flag ON attachments;
DROP FUNCTION tickets_attachment_flag;
DROP TRIGGER chats_ticket_link ON chats;
DROP FUNCTION tickets_chat_link;
ALTER TABLE tickets DROP COLUMN has_attachments;
ALTER TABLE tickets DROP COLUMN chat_id;
