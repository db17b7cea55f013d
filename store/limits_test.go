package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// giveUpCtx is a caller that goes away after a while: its Err is nil for
// the first n calls, then context.Canceled. Its Done never closes, so only
// the computation's own checks can notice — the database driver's select
// on Done cannot.
type giveUpCtx struct {
	context.Context
	n atomic.Int64
}

func (c *giveUpCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func centuryOfContracts(n int) *store.Rules {
	var cs []*billing.Contract
	for i := 0; i < n; i++ {
		c := acme()
		c.ID, c.Client, c.Start = fmt.Sprintf("k-%04d", i), fmt.Sprintf("Client %d", i), ptr(billing.MinPeriod)
		cs = append(cs, c)
	}
	return store.NewRules(cs)
}

// TestStatusAndCloseHonourTheirContext (issue 15, item 9): a status or a
// close of the last month in range, over many contracts started in 2000,
// stops when its caller goes away instead of computing every period of
// every contract (an abandoned API call kept a core busy for a minute).
func TestStatusAndCloseHonourTheirContext(t *testing.T) {
	db := open(t)
	rules := centuryOfContracts(200)
	last := billing.MaxPeriod

	ctx := &giveUpCtx{Context: context.Background()}
	ctx.n.Store(3)
	if _, err := db.Status(ctx, rules, last, last.FirstDay()); !errors.Is(err, context.Canceled) {
		t.Errorf("status of %s after the caller left: %v, want %v", last, err, context.Canceled)
	}

	ctx = &giveUpCtx{Context: context.Background()}
	ctx.n.Store(1)
	after := last.End(time.UTC).Add(time.Hour)
	if _, err := db.ClosePeriod(ctx, rules, last, "USD", time.UTC, after); !errors.Is(err, context.Canceled) {
		t.Errorf("close of %s after the caller left: %v, want %v", last, err, context.Canceled)
	}
	// Nothing was closed.
	v, err := db.Status(context.Background(), rules, billing.MinPeriod, billing.MinPeriod.FirstDay())
	if err != nil || v.Closed {
		t.Errorf("after the abandoned close: closed %v, %v", v != nil && v.Closed, err)
	}
}

// TestStoredOverflowDoesNotPanic (item 10): an entry already stored that is
// too large for the month's overage fee to fit int64 no longer makes every
// status of that month panic: the figures are held at their limit and
// flagged.
func TestStoredOverflowDoesNotPanic(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	huge := entry("Acme Corp", "2026-03-02", math.MaxInt64/4)
	if err := db.AddEntries(context.Background(), rules, []store.Entry{huge}, now); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"2026-03", "2026-04"} {
		var v *store.View
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("status %s panicked: %v", p, r)
				}
			}()
			var err error
			if v, err = db.Status(context.Background(), rules, per(p), per(p).FirstDay()); err != nil {
				t.Fatal(err)
			}
		}()
		if p == "2026-03" {
			if len(v.Rows) != 1 || !v.Rows[0].Figures.Overflow || v.Rows[0].Figures.TotalInvoiced != math.MaxInt64 {
				t.Errorf("status %s: %+v", p, v.Rows)
			}
		}
	}
}
