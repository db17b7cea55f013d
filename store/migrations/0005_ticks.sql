-- Which replica runs a scheduled job's firing: the first to insert the
-- (job, minute) row. Rows older than a week are pruned.
CREATE TABLE job_ticks (
    job  TEXT   NOT NULL,
    tick BIGINT NOT NULL,
    PRIMARY KEY (job, tick)
);
