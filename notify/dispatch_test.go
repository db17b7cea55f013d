package notify

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"

	gosmtp "github.com/emersion/go-smtp"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		jitter   float64
		want     time.Duration
	}{
		{1, 0, 15 * time.Second}, {1, 0.999999, 30 * time.Second}, {2, 1, 60 * time.Second},
		{3, 0, 60 * time.Second}, {8, 1, time.Hour}, {30, 0, 30 * time.Minute},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempts, tt.jitter).Round(time.Second); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %s, want %s", tt.attempts, tt.jitter, got, tt.want)
		}
	}
}

// dispatchFixture closes 2026-01 for three contracts with contacts, so three
// statement emails wait in the outbox, and returns a dispatcher whose email
// goes to the SMTP server b.
func dispatchFixture(t *testing.T, b *testBackend, now *time.Time) (*Dispatcher, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 1)
	var cs []*billing.Contract
	for _, id := range []string{"a", "b", "c"} {
		cs = append(cs, &billing.Contract{ID: id, Client: "Client " + id, Unit: billing.UnitHours, Start: &start,
			Terms: billing.Terms{MonthlyHours: 10 * 3600, MonthlyFee: 100000}, PaymentTermsDays: 15,
			Contacts: []string{id + "@client.example"}})
	}
	rules := store.NewRules(cs)
	if _, err := db.ClosePeriod(ctx, rules, start, "USD", time.UTC, *now); err != nil {
		t.Fatal(err)
	}
	cfg := startServer(t, b)
	r := &Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Agency", From: cfg.From, Location: time.UTC}
	return &Dispatcher{Outbox: db, Routes: map[string]Route{ChannelEmail: {Sender: NewSMTP(cfg), Transport: "smtp"}},
		Render: r.Render, Now: func() time.Time { return *now }, Jitter: func() float64 { return 0 }}, db
}

func statuses(t *testing.T, db *store.DB) map[string]string {
	msgs, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range msgs {
		out[m.Key] = m.Status
	}
	return out
}

func TestDispatchStatementsOverOneConnection(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	b := &testBackend{}
	d, _ := dispatchFixture(t, b, &now)
	res, err := d.Dispatch(context.Background(), false)
	if err != nil || res.Sent != 3 {
		t.Fatalf("dispatch %+v, %v", res, err)
	}
	sessions, msgs := b.Snapshot()
	if sessions != 1 || len(msgs) != 3 {
		t.Fatalf("%d connections, %d messages; want 1 and 3", sessions, len(msgs))
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subject != "Statement a-2026-01 — Client a, January 2026" || m.Header.Get("User-Agent") != "retainer" {
		t.Errorf("subject %q, user agent %q", subject, m.Header.Get("User-Agent"))
	}
	// Again: nothing more goes out.
	if res, _ := d.Dispatch(context.Background(), true); res.Sent != 0 {
		t.Errorf("second dispatch sent %d", res.Sent)
	}
	if _, msgs := b.Snapshot(); len(msgs) != 3 {
		t.Errorf("%d messages after a second dispatch", len(msgs))
	}
}

func TestDispatch421ThenAcceptOnce550Failed(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	b := &testBackend{
		MailErr: func(n int) error {
			if n == 1 { // the first message meets a busy server
				return &gosmtp.SMTPError{Code: 421, Message: "try again later"}
			}
			return nil
		},
		RcptErr: func(to string) error {
			if strings.HasPrefix(to, "c@") {
				return &gosmtp.SMTPError{Code: 550, Message: "no such user"}
			}
			return nil
		},
	}
	d, db := dispatchFixture(t, b, &now)
	ctx := context.Background()
	if _, err := d.Dispatch(ctx, false); err != nil {
		t.Fatal(err)
	}
	st := statuses(t, db)
	if st["statement/a/2026-01"] != store.OutboxPending || st["statement/b/2026-01"] != store.OutboxSent || st["statement/c/2026-01"] != store.OutboxFailed {
		t.Fatalf("after the first pass: %v", st)
	}
	// Not due before its backoff; due after it, and delivered once.
	if res, _ := d.Dispatch(ctx, false); res.Sent != 0 {
		t.Fatalf("sent before the backoff: %+v", res)
	}
	now = now.Add(time.Minute)
	if res, _ := d.Dispatch(ctx, false); res.Sent != 1 {
		t.Fatalf("after the backoff: %+v", res)
	}
	now = now.Add(24 * time.Hour)
	d.Dispatch(ctx, false)
	_, msgs := b.Snapshot()
	count := map[string]int{}
	for _, m := range msgs {
		count[m.To[0]]++
	}
	if count["a@client.example"] != 1 || count["b@client.example"] != 1 || count["c@client.example"] != 0 {
		t.Errorf("deliveries %v, want a and b once, c never", count)
	}
	if st := statuses(t, db); st["statement/c/2026-01"] != store.OutboxFailed {
		t.Errorf("the 550 message was retried: %v", st)
	}
}

// A dispatch stopped mid-batch (shutdown) puts what it had claimed but not
// sent back to pending, as if never tried: nothing is failed, nothing is
// left "sending" to become unknown.
func TestDispatchCancelledReleasesClaims(t *testing.T) {
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
	b := &testBackend{}
	d, db := dispatchFixture(t, b, &now)
	ctx, cancel := context.WithCancel(context.Background())
	render := d.Render
	d.Render = func(ctx context.Context, m store.OutboxMessage) (*Message, error) {
		cancel() // the stop arrives while the batch renders
		return render(ctx, m)
	}
	if _, err := d.Dispatch(ctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	msgs, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Status != store.OutboxPending || m.Attempts != 0 {
			t.Errorf("%s: %s after %d attempts", m.Key, m.Status, m.Attempts)
		}
	}
	if _, got := b.Snapshot(); len(got) != 0 {
		t.Errorf("%d messages sent", len(got))
	}
	// The next dispatch sends them, each once.
	d.Render = render
	if res, err := d.Dispatch(context.Background(), false); err != nil || res.Sent != 3 {
		t.Fatalf("%+v %v", res, err)
	}
}
