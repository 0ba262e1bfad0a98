-- PostgreSQL twin of db/migrations/0007_job_contest.sql.
-- A video made with `/video ... contest:<n>` (issue 11): the contest it is to be entered in once
-- delivered, written in the transaction that accepts the job, so a crash can't lose it. When the
-- delivered video has been entered (or refused: the window closed while it was being made),
-- `settled_at` and `outcome` say so; a delivered job still unsettled at start is entered then.
CREATE TABLE job_contests (
    job_id     BIGINT PRIMARY KEY REFERENCES jobs (id),
    contest_id BIGINT NOT NULL REFERENCES contests (id),
    settled_at DOUBLE PRECISION,
    outcome    TEXT  -- 'entered', or the EntryRefusal value
);
CREATE INDEX job_contests_unsettled ON job_contests (job_id) WHERE settled_at IS NULL;
