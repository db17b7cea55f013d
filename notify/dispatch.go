package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"retainer/store"
)

// Outbox is what the dispatcher needs of the store.
type Outbox interface {
	ClaimDue(ctx context.Context, now time.Time, force bool, limit int) ([]store.OutboxMessage, error)
	Delivered(ctx context.Context, id int64, status, transport, lastError string, next, now time.Time) error
	Release(ctx context.Context, ids []int64) error
}

// Route is where one channel's messages go.
type Route struct {
	Sender    Sender
	Transport string // "smtp", "slack" or "file", as `retainer outbox` shows it
}

// BatchSender sends many messages at once (SMTP: over one connection) and
// reports one error per message.
type BatchSender interface {
	SendBatch(ctx context.Context, ms []*Message) []error
}

// Dispatcher delivers what the outbox holds: each message at most once, with
// retries and exponential backoff for temporary failures.
type Dispatcher struct {
	Outbox      Outbox
	Routes      map[string]Route // by channel
	Render      func(ctx context.Context, m store.OutboxMessage) (*Message, error)
	Now         func() time.Time
	MaxAttempts int            // a temporary failure this many times is failed; 0 = 10
	Jitter      func() float64 // in [0,1); nil = random
}

// Result counts what one dispatch did.
type Result struct{ Sent, Retrying, Failed, Unknown int }

// Backoff is the wait after the given number of failed attempts: 30 s
// doubling to at most an hour, scaled by 0.5–1.0 with jitter in [0,1).
func Backoff(attempts int, jitter float64) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.5 + jitter/2))
}

// Dispatch delivers every message that is due (every pending one when
// force), batch by batch, and reports what happened.
func (d *Dispatcher) Dispatch(ctx context.Context, force bool) (Result, error) {
	var res Result
	max := d.MaxAttempts
	if max <= 0 {
		max = 10
	}
	jitter := d.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	limit := 100
	if force {
		limit = 1 << 30 // one pass over everything pending, each tried once
	}
	for {
		now := d.Now()
		batch, err := d.Outbox.ClaimDue(ctx, now, force, limit)
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			return res, nil
		}
		// Render everything first, then send each channel's messages; a
		// transport that can send many over one connection (SMTP) does.
		msgs := make([]*Message, len(batch))
		errs := make([]error, len(batch))
		// Rendering (a chart per statement) is the costly part: one worker a core.
		var wg sync.WaitGroup
		work := make(chan int)
		for w := 0; w < runtime.GOMAXPROCS(0); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					m := batch[i]
					if _, ok := d.Routes[m.Channel]; !ok {
						errs[i] = &PermanentError{fmt.Errorf("no transport for channel %q", m.Channel)}
						continue
					}
					msg, err := d.Render(ctx, m)
					if err != nil {
						errs[i] = &PermanentError{fmt.Errorf("render: %w", err)}
						continue
					}
					msgs[i] = msg
				}
			}()
		}
		for i := range batch {
			work <- i
		}
		close(work)
		wg.Wait()
		// Stopping (shutdown): what was claimed but not sent goes back to
		// pending, untouched, instead of failing on the cancelled context.
		if ctx.Err() != nil {
			return res, d.release(ctx, batch)
		}
		byChannel := map[string][]int{}
		for i, m := range batch {
			if msgs[i] != nil {
				byChannel[m.Channel] = append(byChannel[m.Channel], i)
			}
		}
		attempted := make([]bool, len(batch))
		for i := range batch {
			attempted[i] = msgs[i] == nil // a render failure is an outcome
		}
		for channel, idx := range byChannel {
			if ctx.Err() != nil {
				break
			}
			for _, i := range idx {
				attempted[i] = true
			}
			sender := d.Routes[channel].Sender
			if bs, ok := sender.(BatchSender); ok {
				group := make([]*Message, len(idx))
				for j, i := range idx {
					group[j] = msgs[i]
				}
				for j, err := range bs.SendBatch(ctx, group) {
					errs[idx[j]] = err
				}
				continue
			}
			for _, i := range idx {
				errs[i] = sender.Send(ctx, msgs[i])
			}
		}
		// Outcomes are recorded even when ctx was cancelled meanwhile.
		record := context.WithoutCancel(ctx)
		var unsent []store.OutboxMessage
		for i, m := range batch {
			if !attempted[i] {
				unsent = append(unsent, m)
				continue
			}
			route := d.Routes[m.Channel]
			sendErr := errs[i]
			status, next, lastErr := store.OutboxSent, now, ""
			if sendErr != nil {
				lastErr = sendErr.Error()
				class, after := Classify(sendErr)
				switch {
				case class == "permanent":
					status = store.OutboxFailed
				case class == "unknown":
					status = store.OutboxUnknown
				case m.Attempts >= max:
					status, lastErr = store.OutboxFailed, fmt.Sprintf("gave up after %d attempts: %s", m.Attempts, lastErr)
				default:
					status = store.OutboxPending
					wait := Backoff(m.Attempts, jitter())
					if after > wait {
						wait = after
					}
					next = now.Add(wait)
				}
			}
			if err := d.Outbox.Delivered(record, m.ID, status, route.Transport, lastErr, next, now); err != nil {
				return res, err
			}
			switch status {
			case store.OutboxSent:
				res.Sent++
			case store.OutboxPending:
				res.Retrying++
			case store.OutboxFailed:
				res.Failed++
			case store.OutboxUnknown:
				res.Unknown++
			}
		}
		if len(unsent) > 0 {
			return res, d.release(ctx, unsent)
		}
		if force {
			return res, nil
		}
	}
}

// release puts claimed messages that were never tried back to pending, and
// returns ctx's error.
func (d *Dispatcher) release(ctx context.Context, msgs []store.OutboxMessage) error {
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if err := d.Outbox.Release(context.WithoutCancel(ctx), ids); err != nil {
		return err
	}
	return ctx.Err()
}
