package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"retainer/store"
	"retainer/store/storetest"
)

func outboxKeys(t *testing.T, db *store.DB) []string {
	t.Helper()
	ob, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range ob {
		keys = append(keys, m.Channel+" "+m.Key)
	}
	slices.Sort(keys)
	return keys
}

// A period's digest is queued once per channel, whatever its keys: as one
// message (digest/<YYYY-MM>) or as parts (digest/<YYYY-MM>/<n>), all parts
// in one call.
func TestDigestQueuedOncePerPeriod(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	msg := func(key, channel string) store.OutboxMessage {
		return store.OutboxMessage{Key: key, Channel: channel, To: []string{"#retainers"}}
	}
	steps := [][]store.OutboxMessage{
		{msg("digest/2026-03", "slack")},
		{msg("digest/2026-03/1", "slack"), msg("digest/2026-03/2", "slack"), msg("alert/acme/2026-03/90", "slack")},
		{msg("digest/2026-04/1", "slack"), msg("digest/2026-04/2", "slack")},
		{msg("digest/2026-04", "slack"), msg("digest/2026-04/3", "slack"), msg("digest/2026-04", "email")},
	}
	for _, s := range steps {
		if err := db.Enqueue(ctx, s, now); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"email digest/2026-04", "slack alert/acme/2026-03/90", "slack digest/2026-03", "slack digest/2026-04/1", "slack digest/2026-04/2"}
	if got := outboxKeys(t, db); !slices.Equal(got, want) {
		t.Errorf("outbox %q\nwant %q", got, want)
	}
}

func TestRemoteID(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	if _, _, err := db.RemoteID(ctx, "digest/2026-03/1", "slack"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("not queued: %v, want ErrNotFound", err)
	}
	if err := db.Enqueue(ctx, []store.OutboxMessage{{Key: "digest/2026-03/1", Channel: "slack", To: []string{"#r"}}}, now); err != nil {
		t.Fatal(err)
	}
	status, ts, err := db.RemoteID(ctx, "digest/2026-03/1", "slack")
	if err != nil || status != store.OutboxPending || ts != "" {
		t.Fatalf("queued: %q %q %v", status, ts, err)
	}
	ob, _ := db.Outbox(ctx)
	if err := db.SetRemoteID(ctx, ob[0].ID, "1773561600.000001"); err != nil {
		t.Fatal(err)
	}
	if _, ts, _ := db.RemoteID(ctx, "digest/2026-03/1", "slack"); ts != "1773561600.000001" {
		t.Errorf("ts %q", ts)
	}
	if err := db.SetRemoteID(ctx, 9999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}
