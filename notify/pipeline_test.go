package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"retainer/billing"
	"retainer/notify/notifytest"
	"retainer/store"
	"retainer/store/storetest"
)

// pipelineFixture closes January for n contracts, each with a statement
// email queued, and returns a dispatcher of batches of size to cfg's
// server, and the store.
func pipelineFixture(t *testing.T, n, size int, cfg SMTPConfig, now time.Time) (*Dispatcher, *store.DB) {
	t.Helper()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 1)
	var cs []*billing.Contract
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		cs = append(cs, &billing.Contract{ID: id, Client: "Client " + id, Unit: billing.UnitHours, Start: &start,
			Terms: billing.Terms{MonthlyHours: 10 * 3600, MonthlyFee: 100000}, PaymentTermsDays: 15,
			Contacts: []string{id + "@client.example"}})
	}
	rules := store.NewRules(cs)
	if _, err := db.ClosePeriod(context.Background(), rules, start, "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	r := &Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Agency", From: cfg.From, Location: time.UTC}
	return &Dispatcher{Outbox: db, Routes: map[string]Route{ChannelEmail: {Sender: NewSMTP(cfg), Transport: "smtp"}},
		Render: r.Render, Now: func() time.Time { return now }, Jitter: func() float64 { return 0 }, Batch: size}, db
}

// firstSent records what it sends, and closes first when it sends the
// first message.
type firstSent struct {
	first chan struct{}
	once  sync.Once
	mu    sync.Mutex
	sent  []string
}

func (f *firstSent) Send(_ context.Context, m *Message) error {
	f.once.Do(func() { close(f.first) })
	f.mu.Lock()
	f.sent = append(f.sent, m.Key)
	f.mu.Unlock()
	return nil
}

// A batch's messages are sent in order as they are rendered: the first
// goes while the others still render (here each waits for it, or fails
// the test after 10 s), over SMTP as over any transport.
func TestDispatchSendsWhileTheBatchRenders(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	for _, transport := range []string{"smtp", "sender"} {
		t.Run(transport, func(t *testing.T) {
			b := &testBackend{}
			cfg := startServer(t, b)
			d, db := pipelineFixture(t, 5, 5, cfg, now)
			first := make(chan struct{})
			var f *firstSent
			if transport == "sender" {
				f = &firstSent{first: first}
				d.Routes = map[string]Route{ChannelEmail: {Sender: f, Transport: "smtp"}}
			} else {
				var once sync.Once
				b.DataHook = func() { once.Do(func() { close(first) }) }
			}
			render := d.Render
			var waited atomic.Bool
			d.Render = func(ctx context.Context, m store.OutboxMessage) (*Message, error) {
				if m.Key != "statement/c00/2026-01" {
					select {
					case <-first:
					case <-time.After(10 * time.Second):
						waited.Store(true)
					}
				}
				return render(ctx, m)
			}
			res, err := d.Dispatch(context.Background(), false)
			if err != nil || res.Sent != 5 {
				t.Fatalf("dispatch %+v, %v", res, err)
			}
			if waited.Load() {
				t.Error("nothing was sent before the whole batch was rendered")
			}
			var sent []string
			if f != nil {
				sent = f.sent
			} else {
				_, msgs := b.Snapshot()
				for _, r := range msgs {
					sent = append(sent, r.To[0])
				}
			}
			if len(sent) != 5 {
				t.Fatalf("sent %q, want 5 messages", sent)
			}
			for i, got := range sent {
				want := fmt.Sprintf("statement/c%02d/2026-01", i)
				if f == nil {
					want = fmt.Sprintf("c%02d@client.example", i)
				}
				if got != want {
					t.Errorf("message %d is %s, want %s", i, got, want)
				}
			}
			for key, status := range statuses(t, db) {
				if status != store.OutboxSent {
					t.Errorf("%s: %s", key, status)
				}
			}
		})
	}
}

// The server drops the connection while messages are on their way — after
// reading a message's data, before its reply (the message arrived; the
// dispatcher cannot know it) — twice, while the next batches render: no
// message reaches the server twice, none is lost: each is sent, or
// unknown (the two in doubt, which did arrive) and not sent again.
func TestDispatchPipelineWithDroppedConnections(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	b := &connServer{SMTPServer: &notifytest.SMTPServer{}}
	var data atomic.Int32
	b.DataHook = func() {
		if n := data.Add(1); n == 3 || n == 6 {
			b.dropAll()
		}
	}
	cfg := startConnServer(t, b)
	const n = 9
	d, db := pipelineFixture(t, n, 2, cfg, now)
	res, err := d.Dispatch(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	// What could not go because its connection was gone is retried: a
	// forced pass sends it now.
	for res.Retrying > 0 {
		again, err := d.Dispatch(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		if again.Sent+again.Unknown+again.Failed == 0 {
			t.Fatalf("a forced dispatch sent nothing: %+v", again)
		}
		res = again
	}
	ids := messageIDs(t, b) // fails on a message received twice
	if len(ids) != n {
		t.Errorf("the server got %d messages, want %d", len(ids), n)
	}
	sent, unknown := 0, 0
	for key, status := range statuses(t, db) {
		switch status {
		case store.OutboxSent:
			sent++
		case store.OutboxUnknown:
			unknown++
		default:
			t.Errorf("%s: %s", key, status)
		}
	}
	if sent != n-2 || unknown != 2 {
		t.Errorf("%d sent, %d unknown; want %d and 2", sent, unknown, n-2)
	}
}

// A message whose render fails is failed, with the render's error, and
// the others of its batch go, in order, each once.
func TestDispatchRenderFailureAmongSends(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	b := &testBackend{}
	d, db := pipelineFixture(t, 4, 4, startServer(t, b), now)
	render := d.Render
	d.Render = func(ctx context.Context, m store.OutboxMessage) (*Message, error) {
		if m.Key == "statement/c01/2026-01" {
			return nil, errors.New("no figures")
		}
		return render(ctx, m)
	}
	res, err := d.Dispatch(context.Background(), false)
	if err != nil || res.Sent != 3 || res.Failed != 1 {
		t.Fatalf("dispatch %+v, %v", res, err)
	}
	msgs, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Key == "statement/c01/2026-01" && (m.Status != store.OutboxFailed || m.LastError != "permanent: render: no figures") {
			t.Errorf("%s: %s, %q", m.Key, m.Status, m.LastError)
		}
	}
	if _, got := b.Snapshot(); len(got) != 3 || got[0].To[0] != "c00@client.example" || got[1].To[0] != "c02@client.example" {
		t.Errorf("the server got %d messages", len(got))
	}
}
