-- Each running easel is a replica that renews its lease (seen_at) while it lives; a turn
-- belongs to the replica that runs it (owner), and another replica takes it over once that
-- lease has run out. (One SQLite file serves one easel: every other owner is a run before.)
CREATE TABLE replicas (
    id              TEXT PRIMARY KEY,
    started_at      REAL NOT NULL,
    seen_at         REAL NOT NULL
);
ALTER TABLE turns ADD COLUMN owner TEXT;

-- Drawings admitted and not ended yet: a daily limit counts them while they run.
CREATE TABLE admissions (
    id              INTEGER PRIMARY KEY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    owner           TEXT NOT NULL,
    at              REAL NOT NULL
);
CREATE INDEX admissions_by_person ON admissions (platform, workspace, user_id);

-- Small facts easel keeps for itself (what it last registered with Discord, ...).
CREATE TABLE facts (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_at      REAL NOT NULL
);
