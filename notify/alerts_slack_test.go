package notify

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"

	"github.com/slack-go/slack/slacktest"
)

// Alert evaluation run 100 times posts each alert to the agency's Slack
// once, against slack-go's slacktest server.
func TestAlertsToSlackOnceIn100Runs(t *testing.T) {
	var mu sync.Mutex
	var posts []string // the fallback text of each chat.postMessage
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			mu.Lock()
			posts = append(posts, r.FormValue("channel")+" "+r.FormValue("text"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok": true, "channel": "C1", "ts": "1.1"}`))
		})
	})
	srv.Start()
	defer srv.Stop()

	ctx := context.Background()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 3)
	c := &billing.Contract{ID: "k", Client: "Kappa", Unit: billing.UnitHours, Start: &start, Terms: billing.Terms{MonthlyHours: 10 * 3600}}
	rules := store.NewRules([]*billing.Contract{c})
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	if err := db.AddEntries(ctx, rules, []store.Entry{{Source: "log", Client: "Kappa", Date: billing.DateOf(2026, 3, 2), Seconds: 11 * 3600, Billable: true}}, now); err != nil {
		t.Fatal(err)
	}
	r := &Renderer{DB: db, Rules: rules, Currency: "USD", Location: time.UTC}
	d := &Dispatcher{Outbox: db, Render: r.Render, Now: func() time.Time { return now },
		Routes: map[string]Route{ChannelSlack: {Sender: NewSlack(SlackConfig{Token: "xoxb-test", Channel: "#retainers", APIURL: srv.GetAPIURL()}), Transport: "slack"}}}
	asOf := billing.DateOf(2026, 3, 20)
	for i := 0; i < 100; i++ {
		v, err := db.Status(ctx, rules, start, asOf)
		if err != nil {
			t.Fatal(err)
		}
		var q []store.OutboxMessage
		for _, a := range Alerts(v.Rows, []int{90, 100}, asOf) {
			q = append(q, store.OutboxMessage{Key: a.Key(), Channel: ChannelSlack, To: []string{"#retainers"}})
		}
		if err := db.Enqueue(ctx, q, now); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Dispatch(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// 90, 100, overage and projected overage: each posted once.
	if len(posts) != 4 {
		t.Fatalf("%d posts, want 4:\n%q", len(posts), posts)
	}
}
