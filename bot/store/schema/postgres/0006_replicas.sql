-- Each running easel is a replica that renews its lease (seen_at) while it lives; a turn
-- belongs to the replica that runs it (owner), and another replica takes it over once that
-- lease has run out.
CREATE TABLE replicas (
    id              TEXT PRIMARY KEY,
    started_at      DOUBLE PRECISION NOT NULL,
    seen_at         DOUBLE PRECISION NOT NULL
);
ALTER TABLE turns ADD COLUMN owner TEXT;

-- Drawings admitted and not ended yet: a daily limit counts them while they run.
CREATE TABLE admissions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    owner           TEXT NOT NULL,
    at              DOUBLE PRECISION NOT NULL
);
CREATE INDEX admissions_by_person ON admissions (platform, workspace, user_id);

-- Small facts easel keeps for itself (what it last registered with Discord, ...).
CREATE TABLE facts (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL
);

-- Finished images waiting for delivery, in the database every replica shares (SQLite keeps
-- them as files beside its database instead).
CREATE TABLE outbox (
    turn_id         BIGINT PRIMARY KEY REFERENCES turns (id),
    data            BYTEA NOT NULL
);

-- Previews served at EASEL_PUBLIC_URL: any replica answers for any of them.
CREATE TABLE previews (
    token           TEXT PRIMARY KEY,
    mime_type       TEXT NOT NULL,
    data            BYTEA NOT NULL,
    expires_at      DOUBLE PRECISION NOT NULL
);
