-- Prompt contests (issue 11): a contest, its entries (videos this bot made), the votes, and the
-- results frozen when voting closes. The rules that make a contest fair are constraints here,
-- not checks in Python, so racing presses, two tickers or a restart cannot break them:
--   * a member's live entries never exceed entries_per_member (trigger);
--   * a job is entered once per contest, a vote counts once per member and entry (UNIQUE);
--   * a member's votes on live entries never exceed votes_per_member, none for their own entry,
--     none outside the voting phase, none for a withdrawn or disqualified entry (trigger);
--   * phases only move forward; entry numbers, once shown, never change; results never change.
-- A trigger refuses with RAISE(ABORT, 'contest:<reason>'); db/contest_rows.py maps the reasons.
-- IF NOT EXISTS throughout: re-running it over a file that already has these (a file whose
-- user_version was set back by hand, as test_db does) changes nothing.

CREATE TABLE IF NOT EXISTS contests (
    id                      INTEGER PRIMARY KEY,
    guild_id                INTEGER NOT NULL,
    number                  INTEGER NOT NULL CHECK (number >= 1),  -- "Contest #N" in its server
    channel_id              INTEGER NOT NULL,
    title                   TEXT    NOT NULL,
    theme                   TEXT    NOT NULL,
    created_by              INTEGER NOT NULL,
    created_at              REAL    NOT NULL,
    submissions_close_at    REAL    NOT NULL,  -- when they closed, once they have
    voting_seconds          INTEGER NOT NULL CHECK (voting_seconds >= 1),
    voting_close_at         REAL    NOT NULL,  -- set again when voting opens
    entries_per_member      INTEGER NOT NULL DEFAULT 1 CHECK (entries_per_member >= 1),
    votes_per_member        INTEGER NOT NULL DEFAULT 3 CHECK (votes_per_member >= 1),
    min_account_age         INTEGER CHECK (min_account_age >= 0),  -- seconds; NULL: none
    min_member_age          INTEGER CHECK (min_member_age >= 0),
    phase                   TEXT    NOT NULL DEFAULT 'submissions'
                            CHECK (phase IN ('submissions', 'voting', 'closed', 'cancelled')),
    voting_opened_at        REAL,
    ended_at                REAL,
    announcement_message_id INTEGER,
    voting_message_id       INTEGER,
    results_message_id      INTEGER,
    cancel_reason           TEXT,
    cancelled_by            INTEGER,
    UNIQUE (guild_id, number),
    CHECK (submissions_close_at >= created_at),
    CHECK (voting_close_at >= submissions_close_at)
);
CREATE INDEX IF NOT EXISTS contests_running ON contests (phase) WHERE phase IN ('submissions', 'voting');

CREATE TABLE IF NOT EXISTS contest_entries (
    id                INTEGER PRIMARY KEY,
    contest_id        INTEGER NOT NULL REFERENCES contests (id),
    job_id            INTEGER NOT NULL REFERENCES jobs (id),
    user_id           INTEGER NOT NULL,
    prompt            TEXT    NOT NULL,
    video_url         TEXT,
    number            INTEGER CHECK (number >= 1),  -- "Entry N", drawn when submissions close
    message_id        INTEGER,                      -- its reveal post
    entered_at        REAL    NOT NULL,
    withdrawn_at      REAL,
    disqualified_at   REAL,
    disqualified_by   INTEGER,
    disqualify_reason TEXT,
    UNIQUE (contest_id, job_id),
    UNIQUE (contest_id, number)
);
CREATE INDEX IF NOT EXISTS contest_entries_by_member ON contest_entries (contest_id, user_id);

-- Entering needs the submissions phase and room under the member's entry limit. A job already
-- entered and live skips the limit here so that the UNIQUE conflict reports it instead.
CREATE TRIGGER IF NOT EXISTS contest_entries_enter BEFORE INSERT ON contest_entries
BEGIN
    SELECT RAISE(ABORT, 'contest:submissions_closed')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'submissions';
    SELECT RAISE(ABORT, 'contest:entry_limit')
    WHERE NEW.withdrawn_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM contest_entries WHERE contest_id = NEW.contest_id
                      AND job_id = NEW.job_id AND withdrawn_at IS NULL)
      AND (SELECT COUNT(*) FROM contest_entries WHERE contest_id = NEW.contest_id
           AND user_id = NEW.user_id AND withdrawn_at IS NULL AND disqualified_at IS NULL)
          >= (SELECT entries_per_member FROM contests WHERE id = NEW.contest_id);
END;

-- A withdrawn entry entered again: the same rules as a new one.
CREATE TRIGGER IF NOT EXISTS contest_entries_reenter BEFORE UPDATE OF withdrawn_at ON contest_entries
WHEN OLD.withdrawn_at IS NOT NULL AND NEW.withdrawn_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'contest:submissions_closed')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'submissions';
    SELECT RAISE(ABORT, 'contest:entry_limit')
    WHERE (SELECT COUNT(*) FROM contest_entries WHERE contest_id = NEW.contest_id
           AND user_id = NEW.user_id AND withdrawn_at IS NULL AND disqualified_at IS NULL)
          >= (SELECT entries_per_member FROM contests WHERE id = NEW.contest_id);
END;

-- Withdrawing only while submissions are open, so a withdrawn entry never has votes.
CREATE TRIGGER IF NOT EXISTS contest_entries_withdraw BEFORE UPDATE OF withdrawn_at ON contest_entries
WHEN OLD.withdrawn_at IS NULL AND NEW.withdrawn_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'contest:submissions_closed')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'submissions';
END;

-- Disqualifying only during voting (entries have their numbers then), and only once.
CREATE TRIGGER IF NOT EXISTS contest_entries_disqualify BEFORE UPDATE OF disqualified_at ON contest_entries
WHEN NEW.disqualified_at IS NOT OLD.disqualified_at
BEGIN
    SELECT RAISE(ABORT, 'contest:not_voting')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'voting';
    SELECT RAISE(ABORT, 'contest:final') WHERE OLD.disqualified_at IS NOT NULL;
END;

CREATE TRIGGER IF NOT EXISTS contest_entries_number_final BEFORE UPDATE OF number ON contest_entries
WHEN OLD.number IS NOT NULL AND NEW.number IS NOT OLD.number
BEGIN
    SELECT RAISE(ABORT, 'contest:final');
END;

-- Forward only; a contest closes without voting only when it has no live entries.
CREATE TRIGGER IF NOT EXISTS contests_phase_forward BEFORE UPDATE OF phase ON contests
WHEN NEW.phase IS NOT OLD.phase
BEGIN
    SELECT RAISE(ABORT, 'contest:phase')
    WHERE NOT ((OLD.phase = 'submissions' AND NEW.phase IN ('voting', 'cancelled'))
               OR (OLD.phase = 'submissions' AND NEW.phase = 'closed'
                   AND NOT EXISTS (SELECT 1 FROM contest_entries WHERE contest_id = OLD.id
                                   AND withdrawn_at IS NULL AND disqualified_at IS NULL))
               OR (OLD.phase = 'voting' AND NEW.phase IN ('closed', 'cancelled')));
END;

CREATE TABLE IF NOT EXISTS contest_votes (
    contest_id INTEGER NOT NULL REFERENCES contests (id),
    entry_id   INTEGER NOT NULL REFERENCES contest_entries (id),
    voter_id   INTEGER NOT NULL,
    created_at REAL    NOT NULL,
    UNIQUE (contest_id, entry_id, voter_id)  -- a double click counts once
);
CREATE INDEX IF NOT EXISTS contest_votes_by_voter ON contest_votes (contest_id, voter_id);

-- The phase is checked for every press; the rest only for a vote not already counted, so a
-- second press of the same entry reaches the UNIQUE conflict (counted once) even when the
-- budget is spent. Votes on disqualified entries do not use up the budget.
CREATE TRIGGER IF NOT EXISTS contest_votes_cast BEFORE INSERT ON contest_votes
BEGIN
    SELECT RAISE(ABORT, 'contest:not_voting')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'voting';
    SELECT RAISE(ABORT, 'contest:entry_gone')
    WHERE NOT EXISTS (SELECT 1 FROM contest_entries WHERE id = NEW.entry_id
                      AND contest_id = NEW.contest_id AND number IS NOT NULL
                      AND withdrawn_at IS NULL AND disqualified_at IS NULL);
    SELECT RAISE(ABORT, 'contest:own_entry')
    WHERE (SELECT user_id FROM contest_entries WHERE id = NEW.entry_id) = NEW.voter_id;
    SELECT RAISE(ABORT, 'contest:vote_budget')
    WHERE NOT EXISTS (SELECT 1 FROM contest_votes WHERE contest_id = NEW.contest_id
                      AND entry_id = NEW.entry_id AND voter_id = NEW.voter_id)
      AND (SELECT COUNT(*) FROM contest_votes v JOIN contest_entries e ON e.id = v.entry_id
           WHERE v.contest_id = NEW.contest_id AND v.voter_id = NEW.voter_id
             AND e.withdrawn_at IS NULL AND e.disqualified_at IS NULL)
          >= (SELECT votes_per_member FROM contests WHERE id = NEW.contest_id);
END;

-- Taking a vote back only while voting is open: after close the votes are what was tallied.
CREATE TRIGGER IF NOT EXISTS contest_votes_take_back BEFORE DELETE ON contest_votes
BEGIN
    SELECT RAISE(ABORT, 'contest:not_voting')
    WHERE (SELECT phase FROM contests WHERE id = OLD.contest_id) IS NOT 'voting';
END;

CREATE TRIGGER IF NOT EXISTS contest_votes_no_update BEFORE UPDATE ON contest_votes
BEGIN
    SELECT RAISE(ABORT, 'contest:final');
END;

-- Written once, in the transaction that closes voting; never changed.
CREATE TABLE IF NOT EXISTS contest_results (
    contest_id INTEGER NOT NULL REFERENCES contests (id),
    entry_id   INTEGER NOT NULL REFERENCES contest_entries (id),
    place      INTEGER NOT NULL CHECK (place >= 1),  -- competition ranking: 1, 1, 3
    votes      INTEGER NOT NULL CHECK (votes >= 0),
    PRIMARY KEY (contest_id, entry_id)
);

CREATE TRIGGER IF NOT EXISTS contest_results_on_close BEFORE INSERT ON contest_results
BEGIN
    SELECT RAISE(ABORT, 'contest:not_closed')
    WHERE (SELECT phase FROM contests WHERE id = NEW.contest_id) IS NOT 'closed';
END;

CREATE TRIGGER IF NOT EXISTS contest_results_no_update BEFORE UPDATE ON contest_results
BEGIN
    SELECT RAISE(ABORT, 'contest:final');
END;

CREATE TRIGGER IF NOT EXISTS contest_results_no_delete BEFORE DELETE ON contest_results
BEGIN
    SELECT RAISE(ABORT, 'contest:final');
END;
