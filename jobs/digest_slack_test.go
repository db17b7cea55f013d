package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/notify"
	"retainer/notify/notifytest"
	"retainer/store"
	"retainer/store/storetest"
)

const digestToken = "xoxb-777-666-DiGeStToKeN"

// digestEnv is an agency of n contracts whose Slack is the fake: a bot
// token with a channel, or (webhook) an incoming webhook.
func digestEnv(t *testing.T, n int, fake *notifytest.SlackServer, webhook bool, now time.Time) *Env {
	t.Helper()
	start := billing.NewPeriod(2026, time.January)
	cfg := &config.Config{
		Location: time.UTC, Currency: "USD", Schedule: config.DefaultSchedule(),
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind"},
		Notify: config.Notify{File: config.FileTransport{Dir: filepath.Join(t.TempDir(), "outbox")}},
		Import: config.Import{Inbox: filepath.Join(t.TempDir(), "inbox"), Location: time.UTC},
	}
	if webhook {
		cfg.Notify.Slack = config.Slack{WebhookURL: config.Secret(fake.HookURL)}
	} else {
		cfg.Notify.Slack = config.Slack{Token: digestToken, Channel: "#retainers", APIURL: fake.URL}
	}
	for i := 0; i < n; i++ {
		cfg.Contracts = append(cfg.Contracts, &billing.Contract{ID: fmt.Sprintf("client-%04d", i),
			Client: fmt.Sprintf("Client Number %04d Holdings", i), Unit: billing.UnitHours, Start: &start, PaymentTermsDays: 15,
			Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000}})
	}
	env, err := NewEnv(context.Background(), cfg, storetest.Open(t), now)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// queueDigest queues period p's digest as the digest job does.
func queueDigest(t *testing.T, env *Env, p billing.Period, now time.Time) Candidate {
	t.Helper()
	cd, err := DigestCandidate(context.Background(), env, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := Queue(context.Background(), env.DB, []Candidate{cd}, now); err != nil {
		t.Fatal(err)
	}
	return cd
}

func dispatch(t *testing.T, env *Env, now time.Time) notify.Result {
	t.Helper()
	res, err := env.Dispatcher(func() time.Time { return now }).Dispatch(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// listed is every contract id the posts list, in order.
func listed(t *testing.T, posts []notifytest.SlackPost) []string {
	t.Helper()
	var ids []string
	for _, p := range posts {
		var blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			for _, line := range strings.Split(b.Text.Text, "\n") {
				if _, rest, ok := strings.Cut(line, " Holdings ("); ok {
					ids = append(ids, strings.SplitN(rest, ")", 2)[0])
				}
			}
		}
	}
	return ids
}

// TestDigestReachesSlackInParts: a digest of 150 and of 1,000 contracts
// reaches a Slack that refuses more than 12,000 characters of block text
// or 50 blocks (notifytest.SlackServer) as several accepted messages, each
// within both, every contract listed once in order, parts 2… in the thread
// of part 1 with a bot token and in order through a webhook. Queued again —
// by the job, by `digest --send`, under the one key an earlier version
// used — nothing is sent twice.
func TestDigestReachesSlackInParts(t *testing.T) {
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	p := billing.NewPeriod(2026, time.March)
	for _, tc := range []struct {
		n       int
		webhook bool
	}{{150, false}, {1000, false}, {150, true}} {
		name := fmt.Sprintf("%d contracts, bot token", tc.n)
		if tc.webhook {
			name = fmt.Sprintf("%d contracts, webhook", tc.n)
		}
		t.Run(name, func(t *testing.T) {
			fake := notifytest.StartSlack(t, digestToken)
			env := digestEnv(t, tc.n, fake, tc.webhook, now)
			cd := queueDigest(t, env, p, now)
			if len(cd.Msgs) < 2 {
				t.Fatalf("%d contracts queued as %d message(s)", tc.n, len(cd.Msgs))
			}
			for i, m := range cd.Msgs {
				if want := fmt.Sprintf("digest/2026-03/%d", i+1); m.Key != want {
					t.Errorf("message %d key %q, want %q", i, m.Key, want)
				}
			}
			res := dispatch(t, env, now)
			if res.Sent != len(cd.Msgs) || res.Failed+res.Retrying+res.Unknown != 0 {
				t.Fatalf("dispatch %+v, want %d sent; Slack refused %q", res, len(cd.Msgs), fake.Refused())
			}
			posts := fake.Posts()
			if len(posts) != len(cd.Msgs) {
				t.Fatalf("%d posts, want %d", len(posts), len(cd.Msgs))
			}
			for i, post := range posts {
				if post.BlockText > notifytest.SlackMaxBlockText || post.NBlocks > notifytest.SlackMaxBlocks {
					t.Errorf("part %d: %d characters of block text in %d blocks", i+1, post.BlockText, post.NBlocks)
				}
				if i == 0 {
					if !strings.Contains(string(post.Blocks), "contracts, ") || post.ThreadTS != "" {
						t.Errorf("part 1 has no summary, or is a reply (thread_ts %q)", post.ThreadTS)
					}
					continue
				}
				if !strings.Contains(string(post.Blocks), fmt.Sprintf("(part %d)", i+1)) {
					t.Errorf("part %d is not marked", i+1)
				}
				wantThread := posts[0].TS
				if tc.webhook {
					wantThread = ""
				}
				if post.ThreadTS != wantThread {
					t.Errorf("part %d thread_ts %q, want %q", i+1, post.ThreadTS, wantThread)
				}
			}
			ids := listed(t, posts)
			want := make([]string, tc.n)
			for i := range want {
				want[i] = fmt.Sprintf("client-%04d", i)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("the parts list %d contracts (%q…), want every one of %d once, in order", len(ids), ids[:min(3, len(ids))], tc.n)
			}

			// Queued again, the next hour, by the job and by the CLI: nothing.
			later := now.Add(time.Hour)
			if c, err := runDigest(context.Background(), env, later); err != nil || c["queued"] != 0 {
				t.Errorf("digest job again: %v %v", c, err)
			}
			queueDigest(t, env, p, later)
			if res := dispatch(t, env, later); res != (notify.Result{}) {
				t.Errorf("second dispatch %+v", res)
			}
			if got := len(fake.Posts()); got != len(posts) {
				t.Errorf("%d posts after queueing again, want %d", got, len(posts))
			}
		})
	}
}

// TestDigestSentBeforeSplitIsNotSentAgain: a month whose digest went out
// under the one key of an earlier version (digest/<YYYY-MM>) is not sent
// again in parts after the upgrade, though it now takes several; and a
// month queued in parts is not queued again as one message when it shrinks.
func TestDigestSentBeforeSplitIsNotSentAgain(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	p := billing.NewPeriod(2026, time.March)
	fake := notifytest.StartSlack(t, digestToken)
	env := digestEnv(t, 300, fake, false, now)
	old := store.OutboxMessage{Key: notify.DigestKey(p), Channel: notify.ChannelSlack, To: []string{"#retainers"}}
	if err := env.DB.Enqueue(ctx, []store.OutboxMessage{old}, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	claimed, err := env.DB.ClaimDue(ctx, now, true, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := env.DB.Delivered(ctx, claimed[0].ID, store.OutboxSent, "slack", "", now, now); err != nil {
		t.Fatal(err)
	}

	if cd := queueDigest(t, env, p, now); len(cd.Msgs) < 2 {
		t.Fatalf("300 contracts in %d message(s)", len(cd.Msgs))
	}
	ob, err := env.DB.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ob) != 1 || ob[0].Key != "digest/2026-03" {
		t.Errorf("outbox after the upgrade: %d messages (%v), want the one sent", len(ob), ob)
	}
	if res := dispatch(t, env, now); res != (notify.Result{}) || len(fake.Posts()) != 0 {
		t.Errorf("dispatch %+v, %d posts: want nothing sent", res, len(fake.Posts()))
	}

	// April in parts, then April as one message (contracts ended): no.
	apr := billing.NewPeriod(2026, time.April)
	atApr := time.Date(2026, 4, 15, 9, 0, 0, 0, time.UTC)
	queueDigest(t, env, apr, atApr)
	small := digestEnv(t, 3, fake, false, atApr)
	small.DB = env.DB
	queueDigest(t, small, apr, atApr)
	ob, _ = env.DB.Outbox(ctx)
	for _, m := range ob {
		if m.Key == "digest/2026-04" {
			t.Errorf("April queued again as one message beside its parts")
		}
	}
}

// TestDigestPartsWaitForTheFirst: Slack refuses part 1 for a while (429):
// the later parts wait rather than go before it, then all go in order, in
// its thread.
func TestDigestPartsWaitForTheFirst(t *testing.T) {
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	p := billing.NewPeriod(2026, time.March)
	fake := notifytest.StartSlack(t, digestToken)
	env := digestEnv(t, 400, fake, false, now)
	cd := queueDigest(t, env, p, now)
	fake.Script(notifytest.SlackReply{Status: 429, Header: map[string]string{"Retry-After": "60"}, Body: `{"ok":false,"error":"ratelimited"}`})

	res := dispatch(t, env, now)
	if res.Sent != 0 || res.Retrying != len(cd.Msgs) || len(fake.Posts()) != 0 {
		t.Fatalf("first dispatch %+v with %d posts: want every part waiting", res, len(fake.Posts()))
	}
	// Past every backoff: part 1 first, then the rest in its thread.
	later := now.Add(2 * time.Hour)
	for i := 0; i < len(cd.Msgs) && len(fake.Posts()) < len(cd.Msgs); i++ {
		dispatch(t, env, later)
		later = later.Add(2 * time.Hour)
	}
	posts := fake.Posts()
	if len(posts) != len(cd.Msgs) {
		t.Fatalf("%d posts, want %d", len(posts), len(cd.Msgs))
	}
	for i, post := range posts[1:] {
		if post.ThreadTS != posts[0].TS || !strings.Contains(string(post.Blocks), fmt.Sprintf("(part %d)", i+2)) {
			t.Errorf("post %d: thread_ts %q (part 1 is %q), want part %d in its thread", i+2, post.ThreadTS, posts[0].TS, i+2)
		}
	}
}
