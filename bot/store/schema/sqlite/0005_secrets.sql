-- Keys easel creates once and keeps, so that every replica derives the same values from them
-- (the key of the privacy-preserving safety identifiers sent to OpenAI).
CREATE TABLE secrets (
    name            TEXT PRIMARY KEY,
    value           BLOB NOT NULL,
    created_at      REAL NOT NULL
);
