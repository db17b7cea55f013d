package jobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"retainer/config"
	"retainer/store/storetest"
)

// The import job re-lists a tracker's reconcile range at most once a day;
// `retainer import` (ImportAll with relistAll) on every run. The range is
// computed from the closed periods and import.reconcile_months, and every
// request names the agency's email in its User-Agent.
func TestImportRelistsDailyAndOnDemand(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var froms, uas []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		uas = append(uas, r.Header.Get("User-Agent"))
		if f := r.URL.Query().Get("from"); f != "" {
			froms = append(froms, f)
		}
		w.Write([]byte(`{"time_entries":[],"per_page":2000,"total_pages":1,"page":1,"next_page":null,"links":{"next":null}}`))
	}))
	defer srv.Close()
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, ny)
	r, _ := testRunner(t, &now)
	env := r.Env()
	env.Config.Import.Harvest = config.Harvest{AccountID: "1", Token: "tok", BaseURL: srv.URL + "/v2"}
	env.Config.Import.ReconcileMonths = 2
	// relisted checks every full re-list so far, by its first day.
	relisted := func(step string, want ...string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(froms) != len(want) {
			t.Fatalf("%s: re-listed from %v, want %v", step, froms, want)
		}
		for i := range want {
			if froms[i] != want[i] {
				t.Fatalf("%s: re-listed from %v, want %v", step, froms, want)
			}
		}
	}

	if _, err := r.Run(ctx, Import); err != nil {
		t.Fatal(err)
	}
	relisted("first run", "2026-01-01") // nothing closed: the contracts' start
	now = now.Add(15 * time.Minute)
	if _, err := r.Run(ctx, Import); err != nil {
		t.Fatal(err)
	}
	relisted("a quarter of an hour on", "2026-01-01") // none more
	if _, err := ImportAll(ctx, env, now, nil, "", true); err != nil {
		t.Fatal(err)
	}
	relisted("retainer import", "2026-01-01", "2026-01-01")
	// January and February close; with no closed month re-listed, the
	// range is March on.
	for _, p := range []string{"2026-01", "2026-02"} {
		if _, err := env.DB.ClosePeriod(ctx, env.Rules, storetest.Per(p), "USD", ny, now); err != nil {
			t.Fatal(err)
		}
	}
	env.Config.Import.ReconcileMonths = 0
	now = now.Add(25 * time.Hour)
	if _, err := r.Run(ctx, Import); err != nil {
		t.Fatal(err)
	}
	relisted("a day on", "2026-01-01", "2026-01-01", "2026-03-01")
	mu.Lock()
	defer mu.Unlock()
	for _, ua := range uas {
		if ua != "retainer (owner@northwind.example)" {
			t.Fatalf("User-Agent %q", ua)
		}
	}
}
