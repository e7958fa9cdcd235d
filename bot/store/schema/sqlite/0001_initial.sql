-- Threads easel started, and what their next turn continues from.
CREATE TABLE threads (
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    last_response_id    TEXT,
    last_image_call_id  TEXT,
    last_file_ref       TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    PRIMARY KEY (platform, workspace, channel, thread)
);

-- One row per drawing turn: who asked what, how it went, what it cost.
CREATE TABLE turns (
    id              INTEGER PRIMARY KEY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    prompt          TEXT NOT NULL,
    options         TEXT NOT NULL,           -- JSON of the ImageOptions used
    status          TEXT NOT NULL,           -- drawing | delivered | failed
    response_id     TEXT,
    error_code      TEXT,
    usage           TEXT,                    -- JSON of the API's usage block
    started_at      REAL NOT NULL,
    ended_at        REAL
);
CREATE INDEX turns_by_thread ON turns (platform, workspace, channel, thread, id);

-- Platform deliveries already acted on, so a retried delivery never draws twice.
CREATE TABLE seen_deliveries (
    key             TEXT PRIMARY KEY,
    seen_at         REAL NOT NULL
);
