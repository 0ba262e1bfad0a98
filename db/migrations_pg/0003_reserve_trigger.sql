-- PostgreSQL twin of db/migrations/0003_reserve_trigger.sql.
-- Every job is created with its cost reserved: the reserve row is written by the database in
-- the same statement as the job (one round trip fewer while a member waits on Discord's 3 s).
CREATE FUNCTION jobs_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger (guild_id, user_id, period, job_id, kind, amount, created_at)
    VALUES (NEW.guild_id, NEW.user_id, NEW.period, NEW.id, 'reserve', NEW.cost, NEW.created_at);
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_reserve AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_reserve();
