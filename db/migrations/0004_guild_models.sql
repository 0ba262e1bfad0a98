-- Models a server has turned off (/quota-admin models); a model not listed here is on.
CREATE TABLE guild_model_off (
    guild_id INTEGER NOT NULL,
    model_key TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (guild_id, model_key)
);
