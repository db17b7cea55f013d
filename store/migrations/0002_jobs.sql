-- One row per run of a scheduled job (or of its CLI twin run by the
-- daemon): what ran, when, how it ended and what it counted. A run still
-- 'running' when its process died is marked 'interrupted' at the next start.
CREATE TABLE job_runs (
    id         INTEGER PRIMARY KEY,
    job        TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    ended_at   BIGINT,
    outcome    TEXT    NOT NULL,
    counts     TEXT    NOT NULL DEFAULT '{}',
    error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs (job, id);
