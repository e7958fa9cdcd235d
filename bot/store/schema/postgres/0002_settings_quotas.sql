-- Each workspace's settings that its admins changed (the process defaults fill the rest).
CREATE TABLE workspace_settings (
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    field           TEXT NOT NULL,
    value           TEXT NOT NULL,           -- JSON
    updated_by      TEXT NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, workspace, field)
);

-- Every settings change: who, when, the old and the new value.
CREATE TABLE settings_audit (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    field           TEXT NOT NULL,
    old_value       TEXT,                    -- JSON
    new_value       TEXT,                    -- JSON
    at              DOUBLE PRECISION NOT NULL
);
CREATE INDEX settings_audit_by_workspace ON settings_audit (platform, workspace, id);

-- Who started a drawing's thread (the reply policy may let only them edit it).
ALTER TABLE threads ADD COLUMN started_by TEXT;

-- The estimated cost of a delivered turn, from the price table at the time.
ALTER TABLE turns ADD COLUMN cost_usd DOUBLE PRECISION;
CREATE INDEX turns_by_workspace_time ON turns (platform, workspace, status, ended_at);
