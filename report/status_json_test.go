package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"retainer/billing"
	"retainer/store"
)

// writeJSONReference is WriteJSON as it was, every contract through
// encoding/json: the fast writer must equal it byte for byte.
func writeJSONReference(o StatusObject) string {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	head, _ := json.Marshal(struct {
		Period   string `json:"period"`
		Currency string `json:"currency"`
	}{o.Period, o.Currency})
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"contracts":[`)
	writeJSONLines(bw, o.Contracts)
	if len(o.Contracts) > 0 {
		bw.WriteByte('\n')
	}
	sum, _ := json.Marshal(o.Summary)
	bw.WriteString(`],"summary":`)
	bw.Write(sum)
	if len(o.Summaries) > 0 {
		bw.WriteString(`,"summaries":[`)
		writeJSONLines(bw, o.Summaries)
		bw.WriteString("\n]")
	}
	bw.WriteString("}\n")
	bw.Flush()
	return buf.String()
}

// The status JSON is written without reflection, byte for byte as
// encoding/json writes it: names and notes that need escaping (quotes,
// HTML characters, control characters, line separators, invalid UTF-8,
// non-ASCII), negative and large amounts, currencies without decimals,
// null percentages and invoice statuses, and numbers encoding/json
// rewrites ("" is 0) or refuses.
func TestStatusWriteJSONMatchesEncodingJSON(t *testing.T) {
	n := func(s string) *json.Number { x := json.Number(s); return &x }
	sent := "sent"
	base := ContractStatus{ContractID: "acme-001", Client: "Acme Corp", Tier: "gold", Period: "2026-10", Unit: "hours", Currency: "USD",
		Contracted: "40.00", Banked: "10.00", Available: "50.00", Used: "52.50", Remaining: "0.00", Overage: "2.50",
		OverageRate: "175.00", OverageFee: "437.50", RetainerFee: "5000.00", TotalInvoiced: "5437.50", Tax: "0.00",
		Utilization: n("105.0"), BurnRate: n("131.3"), Projected: "80.40"}
	var rows []ContractStatus
	edit := func(f func(*ContractStatus)) {
		cs := base
		f(&cs)
		rows = append(rows, cs)
	}
	edit(func(cs *ContractStatus) {})
	edit(func(cs *ContractStatus) { cs.Closed, cs.InvoiceStatus = true, &sent })
	edit(func(cs *ContractStatus) { cs.Utilization, cs.BurnRate = nil, nil })
	edit(func(cs *ContractStatus) {
		cs.Currency, cs.OverageRate, cs.OverageFee, cs.TotalInvoiced, cs.RetainerFee = "JPY", "17500", "-43750", "-9223372036854775808", "9223372036854775807"
	})
	edit(func(cs *ContractStatus) { cs.Unit, cs.Used, cs.Remaining, cs.Overage = "sessions", "12", "-3", "0" })
	edit(func(cs *ContractStatus) { cs.Remaining, cs.Banked = "-12.75", "" })
	for _, s := range []string{`Quote "q"`, `back\slash`, "<b>&amp;</b>", "line\nbreak\ttab\r", "bell\x07\x00\x1f\x7f",
		"\b\f", "sep\u2028\u2029", "bad \xff utf-8", "Müller & Søn", "日本語", "emoji 😀", "‮rtl"} {
		s := s
		edit(func(cs *ContractStatus) { cs.Client, cs.Notes, cs.Tier = s, s, s })
		edit(func(cs *ContractStatus) { cs.InvoiceStatus = &s; cs.ContractID = s })
	}
	for _, bad := range []string{"1e3", "0x10", "01", "1.", ".5", "--1", "1.2.3", "abc", "+1", " 1"} {
		bad := bad
		edit(func(cs *ContractStatus) { cs.Used = json.Number(bad) })
		edit(func(cs *ContractStatus) { cs.Utilization = n(bad) })
	}
	obj := StatusObject{Period: "2026-10", Currency: "USD", Contracts: rows,
		Summary:   SummaryStatus{Contracted: "80.00", Used: "105.00", Overage: "2.50", OverageFee: "437.50", RetainerFee: "10000.00", TotalInvoiced: "10437.50"},
		Summaries: []CurrencySummary{{Currency: "USD", Tax: "1.00"}, {Currency: "JPY", Tax: "5"}}}
	for i := range obj.Contracts {
		one := obj
		one.Contracts = obj.Contracts[i : i+1]
		var got bytes.Buffer
		gotErr := one.WriteJSON(&got)
		want := writeJSONReference(one)
		_, wantErr := json.Marshal(&one.Contracts[0])
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("row %d: error %v, encoding/json's %v", i, gotErr, wantErr)
			continue
		}
		if gotErr == nil && got.String() != want {
			t.Errorf("row %d:\n got %s\nwant %s", i, got.String(), want)
		}
	}
	if _, fast := base.appendJSON(nil); !fast {
		t.Error("a plain row is left to encoding/json")
	}
	// All the valid rows at once, and none.
	var ok []ContractStatus
	for _, cs := range rows {
		if _, err := json.Marshal(&cs); err == nil {
			ok = append(ok, cs)
		}
	}
	for _, cs := range [][]ContractStatus{ok, nil, {}} {
		o := obj
		o.Contracts = cs
		var got bytes.Buffer
		if err := o.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if want := writeJSONReference(o); got.String() != want {
			t.Errorf("%d rows:\n got %s\nwant %s", len(cs), got.String(), want)
		}
		if !json.Valid(got.Bytes()) || !strings.HasSuffix(got.String(), "}\n") {
			t.Errorf("%d rows: not one JSON object", len(cs))
		}
	}
}

// WriteStatusJSON writes what StatusJSON(…).WriteJSON writes, byte for
// byte, for views of every kind: hours and sessions, several currencies
// (with and without decimals), closed rows with their invoices, negative
// and extreme figures, invalid percentages, names and notes to escape, a
// period of another month, and no rows at all.
func TestWriteStatusJSONMatchesStatusJSON(t *testing.T) {
	p := billing.NewPeriod(2026, 10)
	due := billing.DateOf(2026, 11, 15)
	mk := func(id, client, cur string, u billing.Unit, seed int64) store.Row {
		c := &billing.Contract{ID: id, Client: client, Tier: "gold", Unit: u, Currency: cur}
		f := billing.Figures{ContractID: id, Period: p, Unit: u, Contracted: 40*3600 + seed, Banked: seed * 7, Available: 50*3600 - seed,
			Used: seed * 1801, Remaining: -seed * 13, Overage: seed * 3599, Projected: seed * 99991,
			OverageRate: billing.Money(17500 + seed), OverageFee: billing.Money(-seed * 12345), RetainerFee: billing.Money(seed * 1e9),
			TotalInvoiced: billing.Money(seed*1e12 + 1), Utilization: billing.Percent(seed, 7), BurnRate: billing.Percent(-seed, 3)}
		return store.Row{Contract: c, Figures: f, Bill: billing.Invoice{Tax: billing.Money(seed * -31)}}
	}
	var rows []store.Row
	for i, tc := range []struct {
		client, cur string
		u           billing.Unit
	}{{"Acme Corp", "", billing.UnitHours}, {"Zeta <&> \"q\"", "JPY", billing.UnitSessions}, {"Müller\nSøn", "KWD", billing.UnitHours},
		{"plain", "USD", billing.UnitSessions}, {"bad \xff", "CLF", billing.UnitHours}, {"", "", billing.UnitHours}} {
		r := mk(fmt.Sprintf("c%02d", i), tc.client, tc.cur, tc.u, int64(i*i*1000+i))
		switch i % 3 {
		case 1:
			r.Closed, r.Currency = true, "EUR"
			r.Invoice = &store.Statement{Status: store.StatusSent, DueOn: due}
		case 2:
			r.Note = "note with \t tab and \u2028 and <b>"
			r.Figures.Utilization, r.Figures.BurnRate = billing.Pct{}, billing.Pct{}
			r.Closed = true // closed without a stored statement: null
		}
		rows = append(rows, r)
	}
	extreme := mk("max", "Max", "USD", billing.UnitHours, 0)
	extreme.Figures.Used, extreme.Figures.OverageFee, extreme.Figures.TotalInvoiced = math.MaxInt64, math.MinInt64, math.MaxInt64
	extreme.Figures.Period = p - 1
	rows = append(rows, extreme)
	for _, asOf := range []billing.Date{billing.DateOf(2026, 11, 1), billing.DateOf(2026, 12, 1)} {
		for _, v := range []*store.View{{Period: p, Rows: rows}, {Period: p, Rows: rows[:1]}, {Period: p}, {Period: p, Rows: rows[3:4]}} {
			for _, cur := range []string{"USD", "EUR", "JPY"} {
				var want, got bytes.Buffer
				if err := StatusJSON(v, cur, asOf).WriteJSON(&want); err != nil {
					t.Fatal(err)
				}
				if err := WriteStatusJSON(&got, v, cur, asOf); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("%d rows, %s, as of %s:\n got %s\nwant %s", len(v.Rows), cur, asOf, got.String(), want.String())
				}
			}
		}
	}
}
