-- A video made with `/video ... contest:<n>` (issue 11): the contest it is to be entered in once
-- delivered, written in the transaction that accepts the job, so a crash can't lose it. When the
-- delivered video has been entered (or refused: the window closed while it was being made),
-- `settled_at` and `outcome` say so; a delivered job still unsettled at start is entered then.
-- IF NOT EXISTS: re-running it over a file that already has it changes nothing (see 0006).
CREATE TABLE IF NOT EXISTS job_contests (
    job_id     INTEGER PRIMARY KEY REFERENCES jobs (id),
    contest_id INTEGER NOT NULL REFERENCES contests (id),
    settled_at REAL,
    outcome    TEXT  -- 'entered', or the EntryRefusal value
);
CREATE INDEX IF NOT EXISTS job_contests_unsettled ON job_contests (job_id) WHERE settled_at IS NULL;
