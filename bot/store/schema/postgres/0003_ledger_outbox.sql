-- Every turn is written down at each step (queued, drawing, delivering, then delivered,
-- failed or interrupted) with where its one message is, so a restarted easel can finish it
-- or say what happened.
ALTER TABLE turns ADD COLUMN message TEXT;          -- JSON, the adapter's: where the message is
ALTER TABLE turns ADD COLUMN request TEXT;          -- JSON: what a retry needs besides the prompt
-- JSON of the finished FinalImage without its bytes, while the turn is delivering; the bytes
-- are a file in the outbox folder beside the database, written before the turn says so.
ALTER TABLE turns ADD COLUMN final TEXT;
CREATE INDEX turns_unfinished ON turns (id) WHERE status IN ('queued', 'drawing', 'delivering');
