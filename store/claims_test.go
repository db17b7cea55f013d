package store_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// queue puts n Slack messages k/1 … k/n in the outbox.
func queue(t *testing.T, db *store.DB, n int) {
	t.Helper()
	var q []store.OutboxMessage
	for i := 1; i <= n; i++ {
		q = append(q, store.OutboxMessage{Key: "k/" + string(rune('0'+i)), Channel: "slack", To: []string{"#x"}})
	}
	if err := db.Enqueue(context.Background(), q, now); err != nil {
		t.Fatal(err)
	}
}

func byKey(t *testing.T, db *store.DB) map[string]store.OutboxMessage {
	t.Helper()
	msgs, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.OutboxMessage{}
	for _, m := range msgs {
		out[m.Key] = m
	}
	return out
}

// elsewhere is an owner on another machine: only its lease says whether
// it is alive.
var elsewhere = store.Owner{Host: "web-2", Boot: "another-boot", PIDNS: "pid:[1]", PID: 1, Start: 42, Run: "b"}

func TestOwnerStringRoundTrips(t *testing.T) {
	self := store.ThisProcess()
	if self.Run == "" || self != store.ThisProcess() {
		t.Fatalf("ThisProcess %+v is not stable", self)
	}
	for _, o := range []store.Owner{self, elsewhere, {PID: 7, Run: "r"}} {
		got, ok := store.ParseOwner(o.String())
		if !ok || got != o {
			t.Errorf("ParseOwner(%q) = %+v, %v", o.String(), got, ok)
		}
	}
	for _, s := range []string{"", "pid=1", "host=a pid=x start=1 boot= pidns= run=r"} {
		if _, ok := store.ParseOwner(s); ok {
			t.Errorf("ParseOwner(%q) ok", s)
		}
	}
}

// The claims of a live process on this machine are left alone; once that
// process has ended they are settled at once, without waiting for their
// lease: pending again, but for the one it had handed over.
func TestRecoverClaimsOfAProcessThatEnded(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	queue(t, db, 3)
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	owner, err := store.OwnerOfProcess(child.Process.Pid)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	wall := now
	claimed, err := db.Claim(ctx, store.Claim{Owner: owner, Now: now, Limit: 10, LeaseUntil: wall.Add(time.Hour)})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	// The child "hands over" k/2 and dies before saying how it went.
	if handed, err := db.Record(ctx, store.Progress{Owner: owner, Now: now, HandOver: claimed[1].ID, Transport: "slack",
		LeaseUntil: wall.Add(time.Hour)}); err != nil || !handed {
		t.Fatalf("hand over: %v %v", handed, err)
	}
	if rec, err := db.RecoverClaims(ctx, store.ThisProcess(), wall); err != nil || rec != (store.Recovered{}) {
		t.Fatalf("a live process's claims were recovered: %+v %v", rec, err)
	}
	if again, _ := db.ClaimDue(ctx, now, true, 10); len(again) != 0 {
		t.Fatalf("a live claim was claimed again: %+v", again)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	rec, err := db.RecoverClaims(ctx, store.ThisProcess(), wall)
	if err != nil || rec != (store.Recovered{Pending: 2, Unknown: 1}) {
		t.Fatalf("recovered %+v, %v; want 2 pending again and the handed-over one unknown", rec, err)
	}
	m := byKey(t, db)
	for _, k := range []string{"k/1", "k/3"} {
		if m[k].Status != store.OutboxPending || m[k].Attempts != 0 || m[k].ClaimedBy != "" {
			t.Errorf("%s: %+v, want pending as if never claimed", k, m[k])
		}
	}
	if u := m["k/2"]; u.Status != store.OutboxUnknown || u.HandedOverAt == nil || !strings.Contains(u.LastError, "stopped") {
		t.Errorf("k/2: %+v, want unknown", u)
	}
	// The two are delivered normally; the unknown one waits for an operator.
	if due, _ := db.ClaimDue(ctx, now, false, 10); len(due) != 2 {
		t.Errorf("%d due after the recovery, want 2", len(due))
	}
}

// An owner on another machine is gone only when its lease ran out; its
// renewed claims are left alone.
func TestRecoverClaimsOfAnotherMachineByLease(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	queue(t, db, 2)
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // the lease clock, injected
	claimed, err := db.Claim(ctx, store.Claim{Owner: elsewhere, Now: now, Limit: 10, LeaseUntil: wall.Add(time.Minute)})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if rec, _ := db.RecoverClaims(ctx, store.ThisProcess(), wall.Add(59*time.Second)); rec != (store.Recovered{}) {
		t.Fatalf("recovered within the lease: %+v", rec)
	}
	// It renews one; the other runs out.
	if err := db.ExtendClaims(ctx, elsewhere, []int64{claimed[0].ID}, wall.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rec, err := db.RecoverClaims(ctx, store.ThisProcess(), wall.Add(90*time.Second)); err != nil || rec != (store.Recovered{Pending: 1}) {
		t.Fatalf("recovered %+v, %v; want the expired one", rec, err)
	}
	m := byKey(t, db)
	if m[claimed[0].Key].Status != store.OutboxSending || m[claimed[1].Key].Status != store.OutboxPending {
		t.Errorf("statuses %s %s", m[claimed[0].Key].Status, m[claimed[1].Key].Status)
	}
	// Its claim lost, the owner may not hand it over, and its outcome for
	// it is not written: the new claimant decides.
	if handed, err := db.Record(ctx, store.Progress{Owner: elsewhere, Now: now, HandOver: claimed[1].ID, Transport: "slack"}); err != nil || handed {
		t.Fatalf("a lost claim was handed over: %v %v", handed, err)
	}
	if _, err := db.Record(ctx, store.Progress{Owner: elsewhere, Now: now,
		Outcomes: []store.Outcome{{ID: claimed[1].ID, Status: store.OutboxFailed, Transport: "slack", LastError: "late"}}}); err != nil {
		t.Fatal(err)
	}
	if m := byKey(t, db); m[claimed[1].Key].Status != store.OutboxPending {
		t.Errorf("a lost claim's outcome was written: %+v", m[claimed[1].Key])
	}
	// Release returns only its own claims, and only what was not handed over.
	mine, _ := db.ClaimDue(ctx, now, true, 10)
	if len(mine) != 1 {
		t.Fatalf("claimed %d", len(mine))
	}
	if err := db.Release(ctx, elsewhere, []int64{mine[0].ID}); err != nil {
		t.Fatal(err)
	}
	if m := byKey(t, db); m[mine[0].Key].Status != store.OutboxSending {
		t.Errorf("another owner released our claim")
	}
}

// A slow owner whose lease ran out while it was sending: the message it had
// handed over becomes unknown, and when the owner's outcome comes after
// all, it is written — sent, and its invoice with it.
func TestLateOutcomeOfAnExpiredClaimLands(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	a := acme()
	a.Contacts = []string{"ap@acme.example"}
	rules := store.NewRules([]*billing.Contract{a})
	if _, err := db.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claimed, err := db.Claim(ctx, store.Claim{Owner: elsewhere, Now: now, Force: true, Limit: 1, LeaseUntil: wall.Add(time.Minute)})
	if err != nil || len(claimed) != 1 || !strings.HasPrefix(claimed[0].Key, "statement/acme-001/") {
		t.Fatalf("claimed %+v, %v", claimed, err)
	}
	id := claimed[0].ID
	if handed, err := db.Record(ctx, store.Progress{Owner: elsewhere, Now: now, HandOver: id, Transport: "smtp", LeaseUntil: wall.Add(time.Minute)}); err != nil || !handed {
		t.Fatal(handed, err)
	}
	if rec, _ := db.RecoverClaims(ctx, store.ThisProcess(), wall.Add(2*time.Minute)); rec != (store.Recovered{Unknown: 1}) {
		t.Fatalf("recovered %+v", rec)
	}
	if _, err := db.Record(ctx, store.Progress{Owner: elsewhere, Now: now,
		Outcomes: []store.Outcome{{ID: id, Status: store.OutboxSent, Transport: "smtp", Next: now}}}); err != nil {
		t.Fatal(err)
	}
	m := byKey(t, db)[claimed[0].Key]
	if m.Status != store.OutboxSent || m.SentAt == nil {
		t.Errorf("the late outcome was lost: %+v", m)
	}
	contract, p, _ := store.StatementKey(claimed[0].Key)
	st, err := db.StatementByInvoice(ctx, store.InvoiceNumber(contract, p))
	if err != nil || st.Status != store.StatusSent {
		t.Errorf("invoice %+v, %v; want sent", st, err)
	}
}

// A forced pass goes by id, each message once, even one that failed for now
// and is pending again.
func TestClaimForcePassByID(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	queue(t, db, 5)
	owner := store.ThisProcess()
	lease := now.Add(time.Minute)
	var seen []string
	var after int64
	for {
		b, err := db.Claim(ctx, store.Claim{Owner: owner, Now: now, Force: true, After: after, Limit: 2, LeaseUntil: lease})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		var out []store.Outcome
		for _, m := range b {
			seen = append(seen, m.Key)
			out = append(out, store.Outcome{ID: m.ID, Status: store.OutboxPending, Transport: "slack", LastError: "429", Next: now.Add(time.Hour)})
		}
		if _, err := db.Record(ctx, store.Progress{Owner: owner, Now: now, Outcomes: out}); err != nil {
			t.Fatal(err)
		}
		after = b[len(b)-1].ID
	}
	if strings.Join(seen, " ") != "k/1 k/2 k/3 k/4 k/5" {
		t.Errorf("claimed %v", seen)
	}
}

// An outcome recorded while another connection holds the write lock for
// longer than the store waits for it (an import, say) is written once the
// lock is free, not lost.
func TestRecordWaitsOutAHeldWriteLock(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenWith(ctx, dsn(t), store.Options{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	queue(t, db, 2)
	claimed, err := db.ClaimDue(ctx, now, false, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	released := db.HoldWriteLock(t, 1500*time.Millisecond)
	err = db.Delivered(ctx, claimed[0].ID, store.OutboxSent, "slack", "", now, now)
	if err != nil {
		t.Fatalf("outcome lost to a busy database: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("recorded while the lock was held")
	}
	// A record whose context ends while it waits says so, and writes nothing.
	released = db.HoldWriteLock(t, time.Second)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := db.Delivered(short, claimed[1].ID, store.OutboxSent, "slack", "", now, now); err == nil {
		t.Error("recorded under a held lock")
	}
	<-released
	m := byKey(t, db)
	if m[claimed[0].Key].Status != store.OutboxSent || m[claimed[1].Key].Status != store.OutboxSending {
		t.Errorf("statuses %s %s", m[claimed[0].Key].Status, m[claimed[1].Key].Status)
	}
}

// Claiming and releasing a batch is one UPDATE whatever its size.
func TestClaimAndReleaseAreOneStatementPerBatch(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{1, 10, 250} {
		path := store.TestingDSN(t, false)
		updates := countOutboxUpdates(path)
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var q []store.OutboxMessage
		for i := range size {
			q = append(q, store.OutboxMessage{Key: fmt.Sprintf("k/%d", i), Channel: "slack", To: []string{"#x"}})
		}
		if err := db.Enqueue(ctx, q, now); err != nil {
			t.Fatal(err)
		}

		updates.Store(0)
		claimed, err := db.ClaimDue(ctx, now, false, size)
		if err != nil || len(claimed) != size {
			t.Fatalf("batch of %d: claimed %d, %v", size, len(claimed), err)
		}
		if n := updates.Load(); n != 1 {
			t.Errorf("claiming a batch of %d: %d UPDATE statements, want 1", size, n)
		}

		ids := make([]int64, len(claimed))
		for i, m := range claimed {
			ids[i] = m.ID
		}
		updates.Store(0)
		if err := db.Release(ctx, store.ThisProcess(), ids); err != nil {
			t.Fatal(err)
		}
		if n := updates.Load(); n != 1 {
			t.Errorf("releasing a batch of %d: %d UPDATE statements, want 1", size, n)
		}
		for _, m := range byKey(t, db) {
			if m.Status != store.OutboxPending || m.Attempts != 0 || m.ClaimedBy != "" {
				t.Fatalf("batch of %d: released %s is %s, %d attempts, claimed by %q", size, m.Key, m.Status, m.Attempts, m.ClaimedBy)
			}
		}
	}
}

// Recording a batch of outcomes is one UPDATE of the outbox whatever its
// size and however its outcomes differ (sent, a retry, failed, unknown,
// each with its transport, error and next attempt), and one UPDATE of the
// statements whose emails went. Each message ends as its own outcome says.
func TestRecordIsOneStatementPerBatch(t *testing.T) {
	ctx := context.Background()
	statuses := []string{store.OutboxSent, store.OutboxPending, store.OutboxFailed, store.OutboxUnknown}
	for _, size := range []int{1, 10, 250} {
		path := store.TestingDSN(t, false)
		outboxUpdates := countOutboxUpdates(path)
		statementUpdates := countUpdates(path, "statements", "status")
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		// size statement emails (one per contract) and size Slack messages.
		feb := per("2026-02")
		var cs []*billing.Contract
		for i := range size {
			cs = append(cs, &billing.Contract{ID: fmt.Sprintf("c%03d", i), Client: fmt.Sprintf("Client %03d", i), Unit: billing.UnitHours,
				Terms: billing.Terms{MonthlyHours: h(10), MonthlyFee: 100000}, Start: &feb, Contacts: []string{"ap@example.com"}})
		}
		if _, err := db.ClosePeriod(ctx, store.NewRules(cs), feb, "USD", time.UTC, now); err != nil {
			t.Fatal(err)
		}
		var q []store.OutboxMessage
		for i := range size {
			q = append(q, store.OutboxMessage{Key: fmt.Sprintf("k/%d", i), Channel: "slack", To: []string{"#x"}})
		}
		if err := db.Enqueue(ctx, q, now); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.ClaimDue(ctx, now, true, 2*size)
		if err != nil || len(claimed) != 2*size {
			t.Fatalf("batch of %d: claimed %d, %v", size, len(claimed), err)
		}

		// Statement emails go but every other one, which fails; the Slack
		// messages take each outcome in turn.
		want := map[string]store.Outcome{}
		var outcomes []store.Outcome
		for i, m := range claimed {
			o := store.Outcome{ID: m.ID, Status: statuses[i%len(statuses)], Transport: "slack", LastError: fmt.Sprintf("error %d", i),
				Next: now.Add(time.Duration(i) * time.Minute)}
			if _, _, ok := store.StatementKey(m.Key); ok {
				o.Status, o.Transport = store.OutboxSent, "smtp"
				if i%2 == 1 {
					o.Status = store.OutboxFailed
				}
			}
			if o.Status == store.OutboxSent {
				o.LastError = ""
			}
			want[m.Key] = o
			outcomes = append(outcomes, o)
		}
		outboxUpdates.Store(0)
		statementUpdates.Store(0)
		sentAt := now.Add(time.Hour)
		if _, err := db.Record(ctx, store.Progress{Owner: store.ThisProcess(), Now: sentAt, Outcomes: outcomes}); err != nil {
			t.Fatal(err)
		}
		if n := outboxUpdates.Load(); n != 1 {
			t.Errorf("recording a batch of %d: %d UPDATE statements of the outbox, want 1", 2*size, n)
		}
		if n := statementUpdates.Load(); n != 1 {
			t.Errorf("recording a batch of %d: %d UPDATE statements of the statements, want 1", 2*size, n)
		}

		for key, m := range byKey(t, db) {
			o := want[key]
			if m.Status != o.Status || m.Transport != o.Transport || m.LastError != o.LastError || !m.NextAttemptAt.Equal(o.Next) ||
				m.Attempts != 1 || (m.SentAt != nil) != (o.Status == store.OutboxSent) || (m.SentAt != nil && !m.SentAt.Equal(sentAt)) {
				t.Fatalf("batch of %d: %s is %+v, want %+v sent at %s", size, key, m, o, sentAt)
			}
			contract, p, ok := store.StatementKey(key)
			if !ok {
				continue
			}
			st, err := db.StatementByInvoice(ctx, store.InvoiceNumber(contract, p))
			if err != nil {
				t.Fatal(err)
			}
			if wantStatus := map[bool]string{true: store.StatusSent, false: store.StatusPending}[o.Status == store.OutboxSent]; st.Status != wantStatus ||
				(st.SentAt != nil) != (wantStatus == store.StatusSent) {
				t.Fatalf("batch of %d: invoice %s is %s (sent at %v), want %s", size, st.InvoiceNumber, st.Status, st.SentAt, wantStatus)
			}
		}
	}
}

// Outcomes of one message twice in a batch end as if written in order: an
// outcome after one that left the message unknown replaces it; after any
// other, it finds the message no longer being sent and is not written.
func TestRecordTwoOutcomesOfOneMessage(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	queue(t, db, 2)
	claimed, err := db.ClaimDue(ctx, now, false, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	a, b := claimed[0], claimed[1]
	_, err = db.Record(ctx, store.Progress{Owner: store.ThisProcess(), Now: now, Outcomes: []store.Outcome{
		{ID: a.ID, Status: store.OutboxUnknown, Transport: "slack", LastError: "timeout"},
		{ID: b.ID, Status: store.OutboxFailed, Transport: "slack", LastError: "404"},
		{ID: a.ID, Status: store.OutboxSent, Transport: "slack"},
		{ID: b.ID, Status: store.OutboxSent, Transport: "slack"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := byKey(t, db)
	if got := m[a.Key]; got.Status != store.OutboxSent || got.LastError != "" || got.SentAt == nil {
		t.Errorf("unknown, then sent: %+v, want sent", got)
	}
	if got := m[b.Key]; got.Status != store.OutboxFailed || got.LastError != "404" || got.SentAt != nil {
		t.Errorf("failed, then sent: %+v, want failed", got)
	}
}
