package jobs

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/notify"
	"retainer/store"
	"retainer/store/storetest"
)

// The invoice of the reminder tests: acme's February, closed on March 1st,
// due 15 days later.
const (
	reminderInvoice = "acme-001-2026-02"
	reminderPrefix  = "payment-reminder/" + reminderInvoice + "/"
)

var reminderDue = storetest.Date("2026-03-16")

// reminderEnv is an agency whose acme-001 (contacts) and globex-002 (none)
// had February closed on March 1st, their statements issued that day and
// due on the 16th; unless review, the statement emails are delivered, so
// acme's invoice is sent and globex's, without an email, stays pending.
func reminderEnv(t *testing.T, days []int, review bool) *Env {
	t.Helper()
	ctx := context.Background()
	start := billing.NewPeriod(2026, time.February)
	terms := billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000}
	cfg := &config.Config{
		Location: time.UTC, Currency: "USD", Schedule: config.DefaultSchedule(),
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind", Email: "owner@northwind.example", PaymentInstructions: "IBAN DE00 1234"},
		Notify: config.Notify{Email: config.Email{From: "Northwind <billing@northwind.example>"},
			File: config.FileTransport{Dir: filepath.Join(t.TempDir(), "outbox")}},
		Import:     config.Import{Inbox: filepath.Join(t.TempDir(), "inbox"), Location: time.UTC},
		Statements: config.Statements{Review: review},
		Reminders:  config.Reminders{ClientOverdueDays: days},
		Contracts: []*billing.Contract{
			{ID: "acme-001", Client: "Acme", Unit: billing.UnitHours, Start: &start, PaymentTermsDays: 15, Terms: terms,
				Contacts: []string{"ap@acme.example", "cfo@acme.example"}},
			{ID: "globex-002", Client: "Globex", Unit: billing.UnitHours, Start: &start, PaymentTermsDays: 15, Terms: terms},
		},
	}
	closedAt := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	env, err := NewEnv(ctx, cfg, storetest.Open(t), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.CloseWith(ctx, env.Rules, billing.NewPeriod(2026, time.February), CloseOptions(cfg), closedAt); err != nil {
		t.Fatal(err)
	}
	if !review {
		if res := dispatch(t, env, closedAt); res != (notify.Result{Sent: 1}) {
			t.Fatalf("statement emails: %+v", res)
		}
	}
	st, err := env.DB.StatementByInvoice(ctx, reminderInvoice)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{false: store.StatusSent, true: store.StatusDraft}[review]; st.Status != want || st.DueOn != reminderDue {
		t.Fatalf("%s is %s due %s, want %s due %s", reminderInvoice, st.Status, st.DueOn, want, reminderDue)
	}
	return env
}

// reminderKeys are the payment reminders in the outbox.
func reminderKeys(t *testing.T, db *store.DB) map[string]store.OutboxMessage {
	t.Helper()
	msgs, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.OutboxMessage{}
	for _, m := range msgs {
		if strings.HasPrefix(m.Key, "payment-reminder/") {
			out[m.Key] = m
		}
	}
	return out
}

// dayOf is 09:00 UTC (the overdue job's default time) days past the due
// date.
func dayOf(days int) time.Time {
	return (reminderDue + billing.Date(days)).Time().Add(9 * time.Hour)
}

// TestPaymentReminders reads like SPEC §14 with client_overdue_days
// [3, 10]: the overdue job, run on the days listed, queues a reminder to the
// client once per listed day past due — and only the latest reached, so
// that a client never gets two at once — stopped by paid.
func TestPaymentReminders(t *testing.T) {
	type step struct {
		day    int   // days past the due date the overdue job runs
		pay    bool  // the invoice is marked paid that day, before the job
		queued []int // the reminders it queues, by their listed day
	}
	tests := []struct {
		name   string
		days   []int
		review bool
		setup  func(env *Env) // after the close, before the first step
		steps  []step
	}{
		{name: "each listed day once", days: []int{3, 10}, steps: []step{
			{day: -1}, {day: 0}, // not yet due; due today is not overdue
			{day: 2},                   // overdue, no listed day reached
			{day: 3, queued: []int{3}}, // day 3
			{day: 3},                   // day 3 again: same key, nothing
			{day: 4}, {day: 9},
			{day: 10, queued: []int{10}},
			{day: 11}, {day: 40},
		}},
		{name: "day 3 sent, job down until day 11: the day-10 one", days: []int{3, 10}, steps: []step{
			{day: 3, queued: []int{3}},
			{day: 11, queued: []int{10}},
			{day: 12},
		}},
		{name: "down until day 11: only the day-10 one, never two at once", days: []int{3, 10}, steps: []step{
			{day: 11, queued: []int{10}},
			{day: 12}, {day: 30},
		}},
		{name: "down on day 3: sent late, once", days: []int{3, 10}, steps: []step{
			{day: 4, queued: []int{3}},
			{day: 5},
			{day: 10, queued: []int{10}},
		}},
		{name: "paid on day 5: no day-10 reminder", days: []int{3, 10}, steps: []step{
			{day: 3, queued: []int{3}},
			{day: 5, pay: true},
			{day: 10}, {day: 11},
		}},
		{name: "paid before the first", days: []int{3, 10}, steps: []step{
			{day: 1, pay: true},
			{day: 3}, {day: 10},
		}},
		{name: "a draft never", days: []int{3, 10}, review: true, steps: []step{
			{day: 3}, {day: 10}, {day: 60},
		}},
		{name: "contacts removed: none, no error", days: []int{3, 10},
			setup: func(env *Env) { env.Rules.Contract("acme-001").Contacts = nil },
			steps: []step{{day: 3}, {day: 11}}},
		{name: "a period before go_live: none", days: []int{3, 10},
			setup: func(env *Env) { p := billing.NewPeriod(2026, time.March); env.Config.GoLive = &p },
			steps: []step{{day: 3}, {day: 11}}},
		{name: "no days listed: none", steps: []step{{day: 3}, {day: 10}, {day: 11}}},
		{name: "one day listed", days: []int{1}, steps: []step{
			{day: 0}, {day: 1, queued: []int{1}}, {day: 2}, {day: 20},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			env := reminderEnv(t, tt.days, tt.review)
			if tt.setup != nil {
				tt.setup(env)
			}
			seen := map[string]bool{}
			for _, s := range tt.steps {
				now := dayOf(s.day)
				if s.pay {
					if _, err := env.DB.MarkPaid(ctx, reminderInvoice, billing.DateAt(now, time.UTC)); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := runOverdue(ctx, env, now); err != nil {
					t.Fatalf("day %d: %v", s.day, err)
				}
				var queued []int
				for key, m := range reminderKeys(t, env.DB) {
					if seen[key] {
						continue
					}
					seen[key] = true
					d, ok := strings.CutPrefix(key, reminderPrefix)
					if !ok {
						t.Fatalf("day %d: a reminder of another invoice: %s", s.day, key)
					}
					n, err := strconv.Atoi(d)
					if err != nil {
						t.Fatalf("day %d: %s: %v", s.day, key, err)
					}
					queued = append(queued, n)
					if want := []string{"ap@acme.example", "cfo@acme.example"}; m.Channel != "email" || !reflect.DeepEqual(m.To, want) {
						t.Errorf("day %d: %s goes to %s %v, want email %v", s.day, key, m.Channel, m.To, want)
					}
					if !m.CreatedAt.Equal(now) {
						t.Errorf("day %d: %s queued at %v, want %v", s.day, key, m.CreatedAt, now)
					}
				}
				slices.Sort(queued)
				if !slices.Equal(queued, s.queued) {
					t.Errorf("day %d: queued reminders of days %v, want %v", s.day, queued, s.queued)
				}
			}
		})
	}
}

// TestPaymentReminderPaidBeforeDelivery: a reminder queued while the
// invoice was overdue, then paid before the dispatcher got to it, is
// cancelled rather than sent: no email, not failed, not retried; one still
// unpaid goes out.
func TestPaymentReminderPaidBeforeDelivery(t *testing.T) {
	ctx := context.Background()
	env := reminderEnv(t, []int{3, 10}, false)
	day3 := dayOf(3)
	if _, err := runOverdue(ctx, env, day3); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.MarkPaid(ctx, reminderInvoice, billing.DateAt(day3, time.UTC)); err != nil {
		t.Fatal(err)
	}
	res := dispatch(t, env, day3.Add(time.Minute))
	if res.Cancelled != 1 || res.Failed != 0 || res.Unknown != 0 || res.Retrying != 0 {
		t.Errorf("dispatch = %+v, want the reminder cancelled (and the agency's notice sent)", res)
	}
	key := reminderPrefix + "3"
	m, ok := reminderKeys(t, env.DB)[key]
	if !ok {
		t.Fatalf("%s not queued", key)
	}
	if m.Status != store.OutboxCancelled || m.SentAt != nil || !strings.Contains(m.LastError, "paid") {
		t.Errorf("%s: status %s, sent at %v, last error %q; want cancelled, never sent, saying why", key, m.Status, m.SentAt, m.LastError)
	}
	files, err := filepath.Glob(filepath.Join(env.Config.Notify.File.Dir, "payment-reminder_*"))
	if err != nil || len(files) != 0 {
		t.Errorf("reminder files written: %v, %v", files, err)
	}
	// Nothing is left to deliver: a forced pass claims nothing, and the
	// store will not retry it.
	if res, err := env.Dispatcher(func() time.Time { return day3.Add(time.Hour) }).Dispatch(ctx, true); err != nil || res != (notify.Result{}) {
		t.Errorf("forced dispatch after cancel = %+v, %v; want nothing", res, err)
	}
	if err := env.DB.Retry(ctx, m.ID, day3); err == nil {
		t.Errorf("outbox retry of a cancelled reminder succeeded")
	}

	// The same day's reminder of an invoice still unpaid is delivered.
	env = reminderEnv(t, []int{3, 10}, false)
	if _, err := runOverdue(ctx, env, day3); err != nil {
		t.Fatal(err)
	}
	if res := dispatch(t, env, day3.Add(time.Minute)); res.Cancelled != 0 || res.Sent != 2 {
		t.Errorf("dispatch = %+v, want the agency's notice and the reminder sent", res)
	}
	body, err := os.ReadFile(filepath.Join(env.Config.Notify.File.Dir, "payment-reminder_"+reminderInvoice+"_3.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"To: <ap@acme.example>, <cfo@acme.example>", "Subject: Payment reminder: invoice acme-001-2026-02 is 3 days overdue",
		"USD 5,000.00", "IBAN DE00 1234"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the reminder email lacks %q:\n%s", want, body)
		}
	}
}
