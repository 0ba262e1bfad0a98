-- Leases (issue 13): the process that runs a job holds its row's lease, renews it while alive,
-- and every write of its runner is conditional on still holding it. A process that dies stops
-- renewing, and once `lease_until` has passed another takes the job over. Rows from before
-- this migration have no owner: the first process to start claims them.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until REAL;
CREATE INDEX jobs_by_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
