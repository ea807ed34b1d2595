-- The history as it was before migrations existed (schema version 1).  Every statement is
-- IF NOT EXISTS, so applying this step to a file created by that version changes nothing.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    base_url TEXT,
    version TEXT,
    expected_version TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    ts REAL NOT NULL,
    duration_s REAL NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    scheduled INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    deselected INTEGER NOT NULL,
    flaky INTEGER NOT NULL,
    blocking INTEGER NOT NULL,
    requests_sent INTEGER NOT NULL,
    severity TEXT,
    incident_id TEXT
);
CREATE INDEX IF NOT EXISTS runs_target_ts ON runs (target, ts);
CREATE INDEX IF NOT EXISTS runs_ts ON runs (ts);
CREATE INDEX IF NOT EXISTS runs_incident ON runs (incident_id);
CREATE TABLE IF NOT EXISTS checks (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    ts REAL NOT NULL,
    check_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    severity TEXT NOT NULL,
    epic TEXT,
    feature TEXT,
    blocking INTEGER NOT NULL,
    measured REAL,
    budget REAL,
    unit TEXT,
    failure_kind TEXT,
    dependency TEXT,
    attempts INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS checks_run ON checks (run_id);
CREATE INDEX IF NOT EXISTS checks_ts ON checks (ts);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    target TEXT NOT NULL,
    ts REAL NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS notifications_target_ts ON notifications (target, ts);
