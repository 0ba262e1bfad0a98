-- PostgreSQL twin of db/migrations/0004_guild_models.sql.
-- Models a server has turned off (/quota-admin models); a model not listed here is on.
CREATE TABLE guild_model_off (
    guild_id   BIGINT NOT NULL,
    model_key  TEXT   NOT NULL,
    actor_id   BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, model_key)
);
