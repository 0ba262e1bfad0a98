-- Per-server quota policy and moderation. NULL means "use the bot's default from settings".
CREATE TABLE guild_policy (
    guild_id          INTEGER PRIMARY KEY,
    credits_per_day   INTEGER CHECK (credits_per_day >= 0),
    max_active_jobs   INTEGER CHECK (max_active_jobs >= 1),
    daily_budget      INTEGER CHECK (daily_budget >= 0),  -- the whole server, per day
    moderator_role_id INTEGER,
    log_channel_id    INTEGER
);

-- A member gets the best allowance among their roles (or the server default if higher).
CREATE TABLE role_allowance (
    guild_id        INTEGER NOT NULL,
    role_id         INTEGER NOT NULL,
    credits_per_day INTEGER NOT NULL CHECK (credits_per_day >= 0),
    PRIMARY KEY (guild_id, role_id)
);

-- Members barred from /video in a server.
CREATE TABLE member_ban (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    reason     TEXT,
    created_at REAL    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Extra credits granted for one quota day, on top of the allowance; each grant is in the ledger.
-- A grant row in the ledger adds its amount to `granted` (not `used`).
ALTER TABLE quota_usage ADD COLUMN granted INTEGER NOT NULL DEFAULT 0 CHECK (granted >= 0);

CREATE TABLE blocked_term (
    guild_id   INTEGER NOT NULL,
    term       TEXT    NOT NULL,  -- stored casefolded
    actor_id   INTEGER NOT NULL,
    created_at REAL    NOT NULL,
    PRIMARY KEY (guild_id, term)
);

-- Every moderator action on a job (who, when, which job, why).
CREATE TABLE moderation_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    job_id     INTEGER REFERENCES jobs (id),
    actor_id   INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    reason     TEXT,
    created_at REAL    NOT NULL
);
