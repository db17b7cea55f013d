package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"retainer/billing"
)

// Job run outcomes.
const (
	JobRunning     = "running"
	JobOK          = "ok"
	JobFailed      = "failed"
	JobPanic       = "panic"
	JobInterrupted = "interrupted" // its process died while it ran
)

// keepJobRuns is how many runs of each job are kept: enough history to read,
// and a table that does not grow with time.
const keepJobRuns = 200

// JobRun is one run of a job.
type JobRun struct {
	ID        int64
	Job       string
	StartedAt time.Time
	EndedAt   *time.Time
	Outcome   string
	Counts    map[string]int
	Error     string
}

// StartJob records that job started at now and returns the run's id.
func (s *DB) StartJob(ctx context.Context, job string, now time.Time) (int64, error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO job_runs (job, started_at, outcome) VALUES (?, ?, ?) RETURNING id`,
			job, now.Unix(), JobRunning).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("record %s run: %w", job, err)
	}
	return id, nil
}

// FinishJob records how run id ended, and drops the job's oldest runs
// beyond the last keepJobRuns.
func (s *DB) FinishJob(ctx context.Context, id int64, outcome string, counts map[string]int, errText string, now time.Time) error {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	if counts == nil {
		counts = map[string]int{}
	}
	c, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var job string
		if err := tx.QueryRowContext(ctx, `UPDATE job_runs SET ended_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ? RETURNING job`,
			now.Unix(), outcome, string(c), errText, id).Scan(&job); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM job_runs WHERE job = ? AND id <= (
			SELECT id FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, job, job, keepJobRuns)
		return err
	})
	if err != nil {
		return fmt.Errorf("record run %d: %w", id, err)
	}
	return nil
}

// ClaimTick claims one firing of a scheduled job (its minute) for this
// process: true for the first replica to ask, false for the others. Claims
// older than a week are dropped.
func (s *DB) ClaimTick(ctx context.Context, job string, tick time.Time) (bool, error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		at := tick.Truncate(time.Minute).Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO job_ticks (job, tick) VALUES (?, ?) ON CONFLICT (job, tick) DO NOTHING`, job, at)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM job_ticks WHERE job = ? AND tick < ?`, job, at-7*24*3600)
		return err
	})
	return n == 1, err
}

// InterruptedJobs marks every run still 'running' as interrupted: called by
// a daemon at start, when no other process can be running a job.
func (s *DB) InterruptedJobs(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE job_runs SET outcome = ? WHERE outcome = ?`, JobInterrupted, JobRunning)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return int(n), err
}

// JobStatus is what `retainer jobs` shows of one job.
type JobStatus struct {
	Last        *JobRun // the latest run, nil if it never ran
	LastFailure *JobRun // the latest failed, panicked or interrupted run
}

// Jobs returns the last run and the last failure of every job that has run.
func (s *DB) Jobs(ctx context.Context) (map[string]JobStatus, error) {
	out := map[string]JobStatus{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, job, started_at, ended_at, outcome, counts, error FROM job_runs
			WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job)
			   OR id IN (SELECT MAX(id) FROM job_runs WHERE outcome IN (?, ?, ?) GROUP BY job)
			ORDER BY id`, JobFailed, JobPanic, JobInterrupted)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanJobRun(rows)
			if err != nil {
				return err
			}
			st := out[r.Job]
			switch r.Outcome {
			case JobFailed, JobPanic, JobInterrupted:
				st.LastFailure = r
			}
			st.Last = r // ordered by id: the latest comes last
			out[r.Job] = st
		}
		return rows.Err()
	})
	return out, err
}

// LastJobStart returns when job last started, or the zero time.
func (s *DB) LastJobStart(ctx context.Context, job string) (time.Time, error) {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(started_at) FROM job_runs WHERE job = ?`, job).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return time.Unix(at.Int64, 0).UTC(), nil
}

func scanJobRun(rows *sql.Rows) (*JobRun, error) {
	var r JobRun
	var started int64
	var ended sql.NullInt64
	var counts string
	if err := rows.Scan(&r.ID, &r.Job, &started, &ended, &r.Outcome, &counts, &r.Error); err != nil {
		return nil, err
	}
	r.StartedAt = time.Unix(started, 0).UTC()
	if ended.Valid {
		t := time.Unix(ended.Int64, 0).UTC()
		r.EndedAt = &t
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return nil, fmt.Errorf("job run %d counts: %w", r.ID, err)
	}
	return &r, nil
}

// LastClosed returns the latest closed period; ok is false when none is.
func (s *DB) LastClosed(ctx context.Context) (p billing.Period, ok bool, err error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(period) FROM periods`).Scan(&last); err != nil {
		return 0, false, err
	}
	return billing.Period(last.Int64), last.Valid, nil
}

// OutboxCounts returns the number of outbox messages in each status (none
// for a status no message is in). It reads the counts the outbox's
// triggers keep (migration 0019), a row per status, not the outbox, which
// grows by every message ever sent.
func (s *DB) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, n FROM outbox_counts WHERE n <> 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// ErrLocked is returned by LockDaemon when another process holds the lock.
type ErrLocked struct {
	Path string
	PID  int // 0 when the holder could not be told
}

func (e *ErrLocked) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("another retainer daemon holds %s", e.Path)
	}
	return fmt.Sprintf("another retainer daemon (pid %d) holds %s", e.PID, e.Path)
}

// LockDaemon takes the one-daemon-per-database lock: an exclusive flock on
// "<database>.lock", which holds this process's PID. The kernel releases it
// when the process dies however it dies, so a crash never leaves a stale lock.
// release gives it up.
//
// On PostgreSQL several daemons may share the database (replicas): there is
// no lock, and release does nothing.
func (s *DB) LockDaemon() (release func(), err error) {
	if s.d.postgres {
		return func() {}, nil
	}
	path := s.path + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("daemon lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &ErrLocked{Path: s.path, PID: pid}
		}
		return nil, fmt.Errorf("daemon lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("daemon lock %s: %w", path, err)
	}
	return func() {
		_ = f.Truncate(0)
		_ = f.Close() // closing the descriptor releases the flock
	}, nil
}
