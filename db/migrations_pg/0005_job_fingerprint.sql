-- PostgreSQL twin of db/migrations/0005_job_fingerprint.sql.
-- What a job asked for (model and options), so that the same request from the same member a
-- moment later is recognised as a double click; whether its seed was picked by the bot (the
-- Again button), so that Again picks a new one rather than repeating it; and its prompt as a
-- column, whatever the model calls the field (jobs before this one were all Seedance 1.0's).
ALTER TABLE jobs ADD COLUMN fingerprint TEXT;
ALTER TABLE jobs ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
UPDATE jobs SET prompt = COALESCE(params::jsonb ->> 'text', '');
ALTER TABLE jobs ADD COLUMN seed_by_bot INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_request ON jobs (guild_id, user_id, fingerprint);
