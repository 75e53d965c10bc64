-- FTS5's 'merge' command with a positive page count merges a level of the
-- full-text index once it holds 'usermerge' segments (4 by default). At
-- 2, the server's compaction of a busy desk's index (see
-- store.TidySearchIndex) merges every level holding two or more, which
-- takes the few small segments that writes leave beside the big one down
-- to about one per level in milliseconds, without rewriting the big one.

-- +goose Up
INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('usermerge', 2);

-- +goose Down
INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('usermerge', 4);
