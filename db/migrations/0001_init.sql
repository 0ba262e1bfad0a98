-- Small facts the bot keeps between runs (e.g. the hash of the last synced command tree).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Jobs are the source of truth: a row exists before any paid call is made.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    model_path        TEXT    NOT NULL,
    params            TEXT    NOT NULL,          -- JSON of the validated request
    cost              INTEGER NOT NULL,
    period            TEXT    NOT NULL,          -- the quota day the cost was reserved against
    upload_limit      INTEGER NOT NULL,          -- bytes Discord accepts in this channel
    status            TEXT    NOT NULL CHECK (status IN (
                          'accepted', 'submitting', 'queued', 'running',
                          'delivering', 'delivered', 'failed', 'cancelled')),
    queue_position    INTEGER,
    request_id        TEXT UNIQUE,
    card_message_id   INTEGER,
    result_message_id INTEGER,
    video_url         TEXT,
    error             TEXT,                      -- a reason a member can read
    cancelled_by      INTEGER,
    created_at        REAL    NOT NULL,
    submitted_at      REAL,
    started_at        REAL,
    finished_at       REAL,
    delivered_at      REAL,
    updated_at        REAL    NOT NULL
);
CREATE INDEX jobs_open ON jobs (status)
    WHERE status NOT IN ('delivered', 'failed', 'cancelled');
CREATE INDEX jobs_by_user ON jobs (guild_id, user_id, id);

-- Credits spent per member, server and quota day; only ever changed together with a ledger row.
CREATE TABLE quota_usage (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    period   TEXT    NOT NULL,
    used     INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (guild_id, user_id, period)
);

-- Append-only: every movement of credits, so any balance can be explained.
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    period     TEXT    NOT NULL,
    job_id     INTEGER REFERENCES jobs (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('reserve', 'commit', 'refund', 'grant')),
    amount     INTEGER NOT NULL,                 -- reserve +cost, refund -cost (to `used`)
    actor_id   INTEGER,
    note       TEXT,
    created_at REAL    NOT NULL
);
CREATE INDEX ledger_by_member ON ledger (guild_id, user_id, period);
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
