package store_test

import (
	"context"
	"reflect"
	"testing"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// A contract whose hours in a month were all non-billable — a Toggl plan
// without billable rates marks every entry so — is named, with where the
// hours came from; one that counts non-billable hours, or received any
// billable hour, or none at all, is not (SPEC §15, warnings).
func TestNonBillableOnly(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	acme, globex := storetest.Acme(), storetest.Globex()
	initech := &billing.Contract{ID: "initech-003", Client: "Initech", Unit: billing.UnitHours, CountNonBillable: true,
		Terms: billing.Terms{MonthlyHours: storetest.H(10), MonthlyFee: 100000}, Start: storetest.Ptr(storetest.Per("2026-01"))}
	hooli := &billing.Contract{ID: "hooli-004", Client: "Hooli", Unit: billing.UnitHours,
		Terms: billing.Terms{MonthlyHours: storetest.H(10), MonthlyFee: 100000}, Start: storetest.Ptr(storetest.Per("2026-01"))}
	rules := store.NewRules([]*billing.Contract{acme, globex, initech, hooli})
	nb := func(source, client, date string, seconds int64) store.Entry {
		e := entry(client, date, seconds)
		e.Source, e.Billable = source, false
		return e
	}
	add(t, db, rules,
		// Acme: only non-billable, from two sources.
		nb("api-toggl", "Acme Corp", "2026-03-02", 7200), nb("api-toggl", "Acme Corp", "2026-03-03", 1800),
		nb("log", "Acme Corp", "2026-03-04", 3600),
		// Globex: one billable hour among non-billable ones.
		nb("api-toggl", "Globex", "2026-03-02", 7200), entry("Globex", "2026-03-05", 3600),
		// Initech counts non-billable hours.
		nb("api-toggl", "Initech", "2026-03-02", 7200),
		// Hooli: non-billable, but in April.
		nb("api-toggl", "Hooli", "2026-04-01", 3600),
		// Matches no contract.
		nb("api-toggl", "Nobody Ltd", "2026-03-02", 3600),
	)
	want := []store.NonBillable{{ContractID: "acme-001", Seconds: 12600,
		BySource: []store.SourceAmount{{Source: "api-toggl", Seconds: 9000}, {Source: "log", Seconds: 3600}}}}
	got, err := db.NonBillableOnly(ctx, rules, storetest.Per("2026-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("March: got %+v, want %+v", got, want)
	}
	v, err := db.Status(ctx, rules, storetest.Per("2026-03"), storetest.Date("2026-03-20"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.NonBillable, want) {
		t.Errorf("status March: got %+v, want %+v", v.NonBillable, want)
	}
	april, err := db.NonBillableOnly(ctx, rules, storetest.Per("2026-04"))
	if err != nil {
		t.Fatal(err)
	}
	if len(april) != 1 || april[0].ContractID != "hooli-004" {
		t.Errorf("April: %+v", april)
	}
	// A billable hour ends the warning.
	add(t, db, rules, entry("Acme Corp", "2026-03-10", 900))
	if got, _ := db.NonBillableOnly(ctx, rules, storetest.Per("2026-03")); len(got) != 0 {
		t.Errorf("after a billable entry: %+v", got)
	}
}
