package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"retainer/store"
)

// Outbox is what the dispatcher needs of the store.
type Outbox interface {
	RecoverClaims(ctx context.Context, self store.Owner, wall time.Time) (store.Recovered, error)
	Claim(ctx context.Context, c store.Claim) ([]store.OutboxMessage, error)
	Record(ctx context.Context, p store.Progress) (handed bool, err error)
	ExtendClaims(ctx context.Context, owner store.Owner, ids []int64, until time.Time) error
	Release(ctx context.Context, owner store.Owner, ids []int64) error
}

// Route is where one channel's messages go.
type Route struct {
	Sender    Sender
	Transport string // "smtp", "slack" or "file", as `retainer outbox` shows it
}

// Handover hears from a BatchSender, message by message, when each starts
// its irrevocable step and how it ended, so that the dispatcher can write
// both down before the next message starts (SPEC §8: after a crash, at most
// the message in hand on a connection is in doubt).
type Handover interface {
	// Begin is called just before message i is handed over; false means
	// it must not be: it stays unsent, with ErrNotSent.
	Begin(i int) bool
	// End reports how message i went, before the next Begin.
	End(i int, err error)
}

// Awaiter is a Handover whose messages are still being rendered: a
// BatchSender calls Await(i) before it first reads message i, which waits
// for it; false means message i is not to be sent (ErrNotSent).
type Awaiter interface {
	Await(i int) bool
}

// PreparedHandover is an Awaiter that also holds what the route's
// Preparer returned for each message: Prepared(i), read once Await(i) said
// message i is there; nil when it was not prepared.
type PreparedHandover interface {
	Awaiter
	Prepared(i int) any
}

// ErrNotSent is the error of a message that a BatchSender did not hand
// over: Handover.Begin said no, or ctx ended before its turn.
var ErrNotSent = errors.New("not sent")

// ErrObsolete is what a render returns (wrapped) for a message that has
// become pointless since it was queued — a payment reminder of an invoice
// paid since: the dispatcher cancels it (store.OutboxCancelled) instead of
// sending it, and never retries it.
var ErrObsolete = errors.New("obsolete")

// BatchSender sends many messages at once (SMTP: over one connection) and
// reports one error per message; h (nil: none) hears of each hand-over.
type BatchSender interface {
	SendBatch(ctx context.Context, ms []*Message, h Handover) []error
}

// Replacer is implemented by a transport whose redelivery of a message
// replaces the earlier one (file): a message interrupted by a crash is
// simply delivered again, so its hand-over is not recorded and it is never
// unknown.
type Replacer interface {
	ReplacesOnRedelivery()
}

// Dispatcher delivers what the outbox holds: each message at most once, with
// retries and exponential backoff for temporary failures. It claims, renders
// and sends a batch at a time — each message sent as soon as it is
// rendered, while the next ones render — so memory does not grow with the
// outbox and a crash leaves at most one message per connection in doubt.
type Dispatcher struct {
	Outbox      Outbox
	Routes      map[string]Route // by channel
	Render      func(ctx context.Context, m store.OutboxMessage) (*Message, error)
	Now         func() time.Time
	MaxAttempts int            // a temporary failure this many times is failed; 0 = 10
	Jitter      func() float64 // in [0,1); nil = random

	// Owner names this dispatcher in its claims; the zero Owner is
	// store.ThisProcess().
	Owner store.Owner
	// Wall is the clock of claim leases, which other processes read; nil
	// is Now; the daemon and the CLI pass the wall clock (Now may be
	// fixed or shifted: `run --now`).
	Wall func() time.Time
	// Lease is how long a claim lasts unless renewed; the dispatcher renews
	// its batch's every third of it. 0 = store.DefaultLease.
	Lease time.Duration
	// Batch is how many messages are claimed, rendered and sent at a time;
	// 0 = 100.
	Batch int
	// Grace is how long outcomes are still written after ctx ends (a
	// shutdown); 0 = 30 s.
	Grace time.Duration
	// HoldForPaymentLink (Stripe is configured) leaves each statement email
	// in the outbox until its statement's Stripe invoice is linked (or its
	// Stripe step gave up): see store.Claim.
	HoldForPaymentLink bool
}

// Result counts what one dispatch did. Unknown includes the messages a
// crashed process left handed over, found by this dispatch.
type Result struct{ Sent, Retrying, Failed, Unknown, Cancelled int }

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

// Class is how a Send error is treated (see Sender).
type Class int

const (
	Temporary Class = iota // retried with backoff, or after the wait asked for
	Permanent              // a retry cannot fix it: failed
	Ambiguous              // it may have arrived: unknown until `retainer outbox retry`
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Ambiguous:
		return "ambiguous"
	}
	return "temporary"
}

// Classify names how a Send error is treated, and the wait a
// *RetryAfterError asked for. An error of no known type is temporary: a
// network error, a timeout, a cancelled context.
func Classify(err error) (Class, time.Duration) {
	var p *PermanentError
	var a *AmbiguousError
	var r *RetryAfterError
	switch {
	case errors.As(err, &p):
		return Permanent, 0
	case errors.As(err, &a):
		return Ambiguous, 0
	case errors.As(err, &r):
		return Temporary, r.After
	}
	return Temporary, 0
}

// RetryPolicy is how many times a temporary failure is retried, and the
// jitter of this attempt's backoff.
type RetryPolicy struct {
	MaxAttempts int     // a temporary failure on this attempt is failed; 0 = 10
	Jitter      float64 // in [0,1): scales the backoff by 0.5–1.0
}

// Outcome is what becomes of a message after one attempt.
type Outcome struct {
	Status string    // store.OutboxSent, OutboxPending (retried at Next), OutboxFailed, OutboxUnknown or OutboxCancelled
	Next   time.Time // the next attempt when pending; now otherwise
	Reason string    // why it is not sent, as last_error keeps it; "" when sent
}

// Decide is the outcome of attempt number attempts (1 = the first) of a
// message whose send returned err (nil: sent), at now (SPEC §8): an
// obsolete message (ErrObsolete) is cancelled, a permanent failure is
// failed, an ambiguous one unknown; a temporary one is retried after
// Backoff, or the wait the server asked for when longer, until MaxAttempts
// attempts failed.
func (p RetryPolicy) Decide(err error, attempts int, now time.Time) Outcome {
	if err == nil {
		return Outcome{Status: store.OutboxSent, Next: now}
	}
	if errors.Is(err, ErrObsolete) {
		return Outcome{Status: store.OutboxCancelled, Next: now, Reason: err.Error()}
	}
	limit := p.MaxAttempts
	if limit <= 0 {
		limit = 10
	}
	o := Outcome{Next: now, Reason: err.Error()}
	class, after := Classify(err)
	switch {
	case class == Permanent:
		o.Status = store.OutboxFailed
	case class == Ambiguous:
		o.Status = store.OutboxUnknown
	case attempts >= limit:
		o.Status, o.Reason = store.OutboxFailed, fmt.Sprintf("gave up after %d attempts: %s", attempts, o.Reason)
	default:
		o.Status = store.OutboxPending
		o.Next = now.Add(max(Backoff(attempts, p.Jitter), after))
	}
	return o
}

func (d *Dispatcher) owner() store.Owner {
	if d.Owner == (store.Owner{}) {
		return store.ThisProcess()
	}
	return d.Owner
}

func (d *Dispatcher) wall() time.Time {
	if d.Wall == nil {
		return d.Now()
	}
	return d.Wall()
}

func (d *Dispatcher) lease() time.Duration {
	if d.Lease <= 0 {
		return store.DefaultLease
	}
	return d.Lease
}

// Dispatch delivers every message that is due (every pending one when
// force, each tried once), batch by batch, and reports what happened. It
// first settles the claims of processes that are gone (RecoverClaims), so
// nothing stays stranded without a daemon.
func (d *Dispatcher) Dispatch(ctx context.Context, force bool) (Result, error) {
	var res Result
	owner := d.owner()
	rec, err := d.Outbox.RecoverClaims(ctx, owner, d.wall())
	if err != nil {
		return res, err
	}
	res.Unknown += rec.Unknown
	size := d.Batch
	if size <= 0 {
		size = 100
	}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		now := d.Now()
		batch, err := d.Outbox.Claim(ctx, store.Claim{Owner: owner, Now: now, Force: force, After: after, Limit: size,
			LeaseUntil: d.wall().Add(d.lease()), HoldForPaymentLink: d.HoldForPaymentLink})
		if err != nil {
			return res, err
		}
		if len(batch) == 0 {
			return res, nil
		}
		if force {
			after = batch[len(batch)-1].ID // one pass: a retried message waits for the next
		}
		if err := d.deliver(ctx, owner, batch, now, &res); err != nil {
			return res, err
		}
	}
}

// deliver renders and sends one claimed batch and records every outcome;
// what it did not hand over, because ctx ended, goes back to pending. The
// messages are sent in order as they are rendered: the renders of the
// next ones (the CPU) overlap the connection's round trips.
func (d *Dispatcher) deliver(ctx context.Context, owner store.Owner, batch []store.OutboxMessage, now time.Time, res *Result) error {
	ids := make([]int64, len(batch))
	for i, m := range batch {
		ids[i] = m.ID
	}
	defer d.heartbeat(ctx, owner, ids)()
	rctx, stop := d.recordContext(ctx)
	defer stop()

	r := d.render(ctx, batch)
	defer r.stop()
	b := &book{d: d, ctx: rctx, owner: owner, now: now, res: res}
	byChannel := map[string][]int{}
	for i, m := range batch {
		byChannel[m.Channel] = append(byChannel[m.Channel], i)
	}
	channels := make([]string, 0, len(byChannel))
	for ch := range byChannel {
		channels = append(channels, ch)
	}
	slices.Sort(channels)
	ended := make([]bool, len(batch))        // handed over, its outcome kept
	sendErrs := make([]error, len(batch))    // the transport's, for one not handed over
	transports := make([]string, len(batch)) // "" = not offered to a transport
	for _, ch := range channels {
		if ctx.Err() != nil || b.err != nil {
			break
		}
		route, ok := d.Routes[ch]
		if !ok {
			continue // no transport: each gets its render's error, below
		}
		idx := byChannel[ch]
		h := &handover{ctx: ctx, b: b, route: route, r: r, idx: idx, ended: make([]bool, len(idx))}
		_, h.replaces = route.Sender.(Replacer)
		h.group = make([]*Message, len(idx)) // each set by h.Await
		h.msgs = make([]store.OutboxMessage, len(idx))
		for j, i := range idx {
			h.msgs[j] = batch[i]
		}
		var errs []error
		if bs, ok := route.Sender.(BatchSender); ok {
			errs = bs.SendBatch(ctx, h.group, h)
		} else {
			errs = make([]error, len(idx))
			for j := range idx {
				if ctx.Err() != nil || !h.Await(j) || !h.Begin(j) {
					errs[j] = ErrNotSent
					continue
				}
				errs[j] = route.Sender.Send(ctx, h.group[j])
				h.End(j, errs[j])
			}
		}
		for j, i := range idx {
			ended[i], sendErrs[i], transports[i] = h.ended[j], errs[j], route.Transport
		}
	}
	r.wait()
	unsent := []int64{}
	for i, m := range batch {
		switch {
		case ended[i]:
		case ctx.Err() != nil || b.err != nil:
			// Stopping (shutdown), or the records failed: not handed over,
			// released below (a render that failed because ctx ended is
			// not the message's failure).
			unsent = append(unsent, m.ID)
		case r.errs[i] != nil:
			b.outcome(m, "", r.errs[i])
		case transports[i] == "" || errors.Is(sendErrs[i], ErrNotSent):
			unsent = append(unsent, m.ID)
		default:
			// Never handed over, with an outcome all the same (the
			// connection could not be made; the message could not be
			// built).
			b.outcome(m, transports[i], sendErrs[i])
		}
	}
	b.flush()
	if b.err != nil {
		// The database refused the records for longer than rctx allowed:
		// stop. The claims left are settled by RecoverClaims (handed over:
		// unknown; the others: pending).
		return b.err
	}
	if len(unsent) > 0 {
		if err := d.Outbox.Release(rctx, owner, unsent); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// rendering is a batch being rendered, one worker a core (a statement's
// chart and PDF are the costly part), in order: message i is ready (msgs[i]
// or errs[i] set) once ready[i] is closed. A message that cannot be
// rendered, or has no route, gets a permanent error; one not rendered
// because ctx ended, neither. When the route's Sender is a Preparer, the
// worker prepares the message too (prep[i]), so that its encoding runs in
// parallel, not in the send loop.
type rendering struct {
	msgs   []*Message
	errs   []error
	prep   []any
	ready  []chan struct{}
	cancel func()
	done   chan struct{} // closed when every worker has ended
}

func (d *Dispatcher) render(ctx context.Context, batch []store.OutboxMessage) *rendering {
	ctx, cancel := context.WithCancel(ctx)
	r := &rendering{msgs: make([]*Message, len(batch)), errs: make([]error, len(batch)), prep: make([]any, len(batch)),
		ready: make([]chan struct{}, len(batch)), cancel: cancel, done: make(chan struct{})}
	for i := range r.ready {
		r.ready[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(batch)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r.msgs[i], r.errs[i] = d.renderOne(ctx, batch[i])
				if p, ok := d.Routes[batch[i].Channel].Sender.(Preparer); ok && r.errs[i] == nil && r.msgs[i] != nil {
					r.prep[i] = p.Prepare(r.msgs[i])
				}
				close(r.ready[i])
			}
		}()
	}
	go func() {
	feed:
		for i := range batch {
			select {
			case work <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(work)
		wg.Wait()
		for i := range r.ready {
			select {
			case <-r.ready[i]:
			default:
				close(r.ready[i]) // never rendered: ctx ended
			}
		}
		close(r.done)
	}()
	return r
}

// wait waits for every render of r.
func (r *rendering) wait() { <-r.done }

// stop ends r's renders and waits for them.
func (r *rendering) stop() {
	r.cancel()
	r.wait()
}

// renderOne renders m; a message that cannot be rendered, or has no route,
// gets a permanent error.
func (d *Dispatcher) renderOne(ctx context.Context, m store.OutboxMessage) (*Message, error) {
	if _, ok := d.Routes[m.Channel]; !ok {
		return nil, &PermanentError{fmt.Errorf("no transport for channel %q", m.Channel)}
	}
	msg, err := d.Render(ctx, m)
	if errors.Is(err, ErrObsolete) {
		return nil, err // cancelled, not failed (see Decide)
	}
	if err != nil {
		return nil, &PermanentError{fmt.Errorf("render: %w", err)}
	}
	return msg, nil
}

// heartbeat renews the claims on ids every third of the lease until the
// returned stop is called.
func (d *Dispatcher) heartbeat(ctx context.Context, owner store.Owner, ids []int64) (stop func()) {
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				// A failure is retried at the next beat; the lease
				// outlasts two of them.
				_ = d.Outbox.ExtendClaims(hctx, owner, ids, d.wall().Add(d.lease()))
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// recordContext is the context outcomes are written under: ctx, and once
// ctx ends (a shutdown), Grace more, so that what was learned is kept.
func (d *Dispatcher) recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	grace := d.Grace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, cancel)
	})
	return rctx, func() {
		stopAfter()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// book collects the outcomes of a batch and writes them: with the next
// hand-over, so that at most one message per connection is handed over
// without its outcome written, or at the end of the batch.
type book struct {
	d       *Dispatcher
	ctx     context.Context // for the records
	owner   store.Owner
	now     time.Time
	res     *Result
	pending []store.Outcome
	err     error // a record failed: nothing more is handed over
}

// outcome decides what becomes of a message after its send error (nil:
// sent) and keeps it for the next record.
func (b *book) outcome(m store.OutboxMessage, transport string, sendErr error) {
	jitter := b.d.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	p := RetryPolicy{MaxAttempts: b.d.MaxAttempts}
	if sendErr != nil {
		p.Jitter = jitter()
	}
	o := p.Decide(sendErr, m.Attempts, b.now)
	b.pending = append(b.pending, store.Outcome{ID: m.ID, Status: o.Status, Transport: transport, LastError: o.Reason, Next: o.Next})
}

// handOver writes the outcomes kept so far and that message id is about to
// be handed over, in one transaction; false: it must not be sent.
func (b *book) handOver(id int64, transport string) bool {
	if b.err != nil {
		return false
	}
	handed, err := b.d.Outbox.Record(b.ctx, store.Progress{Owner: b.owner, Now: b.now, Outcomes: b.pending,
		HandOver: id, Transport: transport, LeaseUntil: b.d.wall().Add(b.d.lease())})
	if err != nil {
		b.err = err
		return false
	}
	b.tally()
	return handed
}

// flush writes the outcomes kept so far.
func (b *book) flush() {
	if b.err != nil || len(b.pending) == 0 {
		return
	}
	if _, err := b.d.Outbox.Record(b.ctx, store.Progress{Owner: b.owner, Now: b.now, Outcomes: b.pending}); err != nil {
		b.err = err
		return
	}
	b.tally()
}

func (b *book) tally() {
	for _, o := range b.pending {
		switch o.Status {
		case store.OutboxSent:
			b.res.Sent++
		case store.OutboxPending:
			b.res.Retrying++
		case store.OutboxFailed:
			b.res.Failed++
		case store.OutboxUnknown:
			b.res.Unknown++
		case store.OutboxCancelled:
			b.res.Cancelled++
		}
	}
	b.pending = b.pending[:0]
}

// handover is the dispatcher's side of one channel's group of a batch.
type handover struct {
	ctx      context.Context
	b        *book
	route    Route
	replaces bool // the transport is a Replacer: no hand-over to write
	r        *rendering
	idx      []int      // the group's messages in the batch
	group    []*Message // the group's messages, each set when rendered (Await)
	msgs     []store.OutboxMessage
	ended    []bool
}

// Await waits for the render of the group's message i and sets it; false:
// it is not to be sent (its render failed, or ctx ended first).
func (h *handover) Await(i int) bool {
	k := h.idx[i]
	select {
	case <-h.r.ready[k]:
	case <-h.ctx.Done():
		return false
	}
	if h.r.errs[k] != nil || h.r.msgs[k] == nil {
		return false
	}
	h.group[i] = h.r.msgs[k]
	return true
}

// Prepared is what the route's Preparer made of the group's message i
// (nil: nothing); it is only read once Await(i) said the message is there.
func (h *handover) Prepared(i int) any { return h.r.prep[h.idx[i]] }

func (h *handover) Begin(i int) bool {
	if h.ctx.Err() != nil || h.b.err != nil {
		return false
	}
	if h.replaces {
		return true
	}
	return h.b.handOver(h.msgs[i].ID, h.route.Transport)
}

func (h *handover) End(i int, err error) {
	h.ended[i] = true
	h.r.prep[h.idx[i]] = nil // sent or not, its bytes are not needed again
	h.b.outcome(h.msgs[i], h.route.Transport, err)
}
