-- Every turn is written down at each step (queued, drawing, delivering, then delivered,
-- failed or interrupted) with where its one message is, so a restarted easel can finish it
-- or say what happened.
ALTER TABLE turns ADD COLUMN message TEXT;          -- JSON, the adapter's: where the message is
ALTER TABLE turns ADD COLUMN request TEXT;          -- JSON: what a retry needs besides the prompt
CREATE INDEX turns_unfinished ON turns (id) WHERE status IN ('queued', 'drawing', 'delivering');

-- A finished image kept until the chat platform has it: written before the first upload,
-- removed in the transaction that marks the turn delivered.
CREATE TABLE outbox (
    turn_id         INTEGER PRIMARY KEY REFERENCES turns (id),
    final           TEXT NOT NULL,               -- JSON of the FinalImage without its bytes
    data            BLOB NOT NULL,
    held_at         REAL NOT NULL
);
