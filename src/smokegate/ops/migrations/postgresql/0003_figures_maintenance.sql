-- Figures a run's checks report beside their verdicts (issue 23): user activity, payment success,
-- backup age... counts and ratios only, never a value that could identify a person.  One row per
-- figure per run; the daily report draws their trends.
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS figures_target_ts ON figures (target, ts);
CREATE INDEX IF NOT EXISTS figures_run ON figures (run_id);
-- The maintenance window a run started in (its name), NULL outside one: such a run pages nobody and
-- is no availability sample.
ALTER TABLE runs ADD COLUMN maintenance TEXT;
