-- Where each run ran from (--location, default the host name) and, for runs started by
-- `smokegate watch`, which suite it was (health, smoke, security, synthetic).  Older rows keep
-- NULL in both: their location is unknown and they were plain pytest runs.
ALTER TABLE runs ADD COLUMN location TEXT;
ALTER TABLE runs ADD COLUMN suite TEXT;
ALTER TABLE notifications ADD COLUMN location TEXT;
ALTER TABLE notifications ADD COLUMN suite TEXT;
CREATE INDEX IF NOT EXISTS runs_stream_ts ON runs (target, suite, location, ts);
CREATE INDEX IF NOT EXISTS notifications_stream_ts ON notifications (target, suite, location, ts);
