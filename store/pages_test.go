package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"retainer/billing"
)

// addStatement writes a statement row as a close would.
func addStatement(t *testing.T, s *DB, contract string, p billing.Period, status string) {
	t.Helper()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO statements (invoice_number, contract_id, period, currency, total, issued_on, due_on, status, created_at)
			VALUES (?, ?, ?, 'USD', 100, 0, 0, ?, 0)`, InvoiceNumber(contract, p), contract, int64(p), status)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addMessage queues an outbox message with status.
func addMessage(t *testing.T, s *DB, key, status string) {
	t.Helper()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO outbox (key, channel, recipients, status, next_attempt_at, created_at) VALUES (?, 'email', '[]', ?, 0, 0)`, key, status)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allStatementPages pages through the statements with size and returns the
// invoice numbers of each page.
func allStatementPages(t *testing.T, s *DB, size int, between func(page int)) [][]string {
	t.Helper()
	var pages [][]string
	var after StatementCursor
	for {
		pg, err := s.StatementsPage(context.Background(), after, size)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, st := range pg.Statements {
			names = append(names, st.InvoiceNumber)
		}
		pages = append(pages, names)
		if len(names) > size {
			t.Fatalf("page of %d rows, size %d", len(names), size)
		}
		if pg.Next.IsZero() {
			return pages
		}
		if len(pages) > 100 {
			t.Fatal("no last page")
		}
		// The cursor travels as text in a link.
		if after, err = ParseStatementCursor(pg.Next.String()); err != nil {
			t.Fatal(err)
		}
		if between != nil {
			between(len(pages))
		}
	}
}

// TestStatementsPage: paging through the statements, whatever the page
// size, gives every statement once, in the order of Statements; the last
// page has no next cursor, also when it is full.
func TestStatementsPage(t *testing.T) {
	s := backendDB(t)
	contracts := []string{"acme-001", "b", "globex-002", "z-9"}
	for p := billing.Period(2026*12 + 0); p < 2026*12+4; p++ {
		for _, c := range contracts {
			addStatement(t, s, c, p, "sent")
		}
	}
	every, err := s.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, st := range every {
		want = append(want, st.InvoiceNumber)
	}
	if len(want) != 16 || want[0] != "acme-001-2026-04" || want[15] != "z-9-2026-01" {
		t.Fatalf("Statements = %v", want)
	}
	for _, tt := range []struct {
		size, pages int
	}{
		{1, 16}, {3, 6}, {4, 4}, {5, 4}, {15, 2}, {16, 1}, {17, 1}, {MaxPageSize + 1, 1},
	} {
		pages := allStatementPages(t, s, tt.size, nil)
		if len(pages) != tt.pages {
			t.Errorf("size %d: %d pages, want %d", tt.size, len(pages), tt.pages)
		}
		if got := slices.Concat(pages...); !slices.Equal(got, want) {
			t.Errorf("size %d: pages give\n%v\nwant\n%v", tt.size, got, want)
		}
	}
}

// TestStatementsPageWhileWritten: statements made between two requests
// (a close of a newer month, a contract added to a month already shown)
// never make a row appear twice or go missing from the pages that follow.
func TestStatementsPageWhileWritten(t *testing.T) {
	s := backendDB(t)
	for p := billing.Period(2026 * 12); p < 2026*12+3; p++ {
		for _, c := range []string{"b", "d", "f"} {
			addStatement(t, s, c, p, "sent")
		}
	}
	before, err := s.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	pages := allStatementPages(t, s, 2, func(page int) {
		if page > 2 {
			return
		}
		added++
		addStatement(t, s, fmt.Sprintf("a%d", page), 2026*12+3, "pending") // a newer month: before the first page
		addStatement(t, s, fmt.Sprintf("a%d", page), 2026*12+2, "pending") // the month being shown, before the cursor
	})
	got := slices.Concat(pages...)
	seen := map[string]int{}
	for _, n := range got {
		seen[n]++
		if seen[n] > 1 {
			t.Errorf("%s shown twice: %v", n, got)
		}
	}
	for _, st := range before {
		if seen[st.InvoiceNumber] != 1 {
			t.Errorf("%s missing: %v", st.InvoiceNumber, got)
		}
	}
	if added != 2 {
		t.Fatalf("wrote between %d requests, want 2", added)
	}
}

// TestParseStatementCursor: a cursor is an invoice number; anything else is
// refused.
func TestParseStatementCursor(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want StatementCursor
		ok   bool
	}{
		{"acme-001-2026-03", StatementCursor{2026*12 + 2, "acme-001"}, true},
		{"a-2026-12", StatementCursor{2026*12 + 11, "a"}, true},
		{"acme-2026-13", StatementCursor{}, false},
		{"acme-2026-3", StatementCursor{}, false},
		{"2026-03", StatementCursor{}, false},
		{"-2026-03", StatementCursor{}, false},
		{"acme_2026-03", StatementCursor{}, false},
		{"", StatementCursor{}, false},
	} {
		got, err := ParseStatementCursor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseStatementCursor(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

// TestDraftMonths: the months with drafts, oldest first, with their counts.
func TestDraftMonths(t *testing.T) {
	s := backendDB(t)
	addStatement(t, s, "a", 2026*12+1, "draft")
	addStatement(t, s, "b", 2026*12+1, "draft")
	addStatement(t, s, "c", 2026*12+1, "pending")
	addStatement(t, s, "a", 2026*12+0, "draft")
	addStatement(t, s, "a", 2026*12+2, "sent")
	got, err := s.DraftMonths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []DraftMonth{{2026*12 + 0, 1}, {2026*12 + 1, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("DraftMonths = %v, want %v", got, want)
	}
}

// TestOutboxPage: the failed and unknown messages first, then the others,
// each newest first, every message once across pages of any size, also
// when messages are queued between two requests.
func TestOutboxPage(t *testing.T) {
	s := backendDB(t)
	statuses := []string{"sent", "failed", "pending", "unknown", "sent", "sent", "failed", "pending", "sent"}
	for i, st := range statuses {
		addMessage(t, s, fmt.Sprintf("m/%d", i+1), st)
	}
	want := []string{"m/7", "m/4", "m/2", "m/9", "m/8", "m/6", "m/5", "m/3", "m/1"}
	for _, size := range []int{1, 2, 3, 4, 8, 9, 10} {
		for _, written := range []bool{false, true} {
			var got []string
			var after OutboxCursor
			for n := 0; ; n++ {
				pg, err := s.OutboxPageAfter(context.Background(), after, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Messages) > size {
					t.Fatalf("size %d: a page of %d", size, len(pg.Messages))
				}
				for _, m := range pg.Messages {
					if !strings.HasPrefix(m.Key, "new/") {
						got = append(got, m.Key)
					}
				}
				if pg.Next.IsZero() {
					break
				}
				if after, err = ParseOutboxCursor(pg.Next.String()); err != nil {
					t.Fatal(err)
				}
				if written && n < 2 {
					addMessage(t, s, fmt.Sprintf("new/%d/%d/%d", size, n, 0), "failed")
					addMessage(t, s, fmt.Sprintf("new/%d/%d/%d", size, n, 1), "pending")
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("size %d (written between requests: %v): pages give %v, want %v", size, written, got, want)
			}
		}
	}
}

// TestParseOutboxCursor: "<id>" or "a<id>", a positive id.
func TestParseOutboxCursor(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want OutboxCursor
		ok   bool
	}{
		{"12", OutboxCursor{false, 12}, true},
		{"a12", OutboxCursor{true, 12}, true},
		{"0", OutboxCursor{}, false},
		{"a-1", OutboxCursor{}, false},
		{"x12", OutboxCursor{}, false},
		{"", OutboxCursor{}, false},
	} {
		got, err := ParseOutboxCursor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseOutboxCursor(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestPagesPlan: every page read is a search of an index in the page's
// order — no scan of the table, no sort — so a page costs the same after
// any number of months.
func TestPagesPlan(t *testing.T) {
	if os.Getenv("RETAINER_TEST_BACKEND") == "postgres" {
		t.Skip("SQLite's query plan")
	}
	s := backendDB(t)
	stmts := `SELECT ` + statementCols + ` FROM statements `
	for _, tt := range []struct {
		name, q string
		args    []any
		want    string
	}{
		{"statements, first page", stmts + statementsNewest, []any{100}, "SCAN statements USING INDEX statements_newest"},
		{"statements, older months", stmts + statementsBefore, []any{1, 100}, "SEARCH statements USING INDEX statements_newest (period<?)"},
		{"statements, rest of a month", stmts + statementsRestOfMonth, []any{1, "a", 100}, "(period=? AND contract_id>?)"},
		{"draft months", `SELECT period, COUNT(*) FROM statements WHERE status = 'draft' GROUP BY period ORDER BY period`, nil, "USING COVERING INDEX statements_drafts"},
		{"outbox attention", outboxAttention, []any{"failed", 100}, "SEARCH outbox USING INDEX outbox_status_id (status=?)"},
		{"outbox attention, after", outboxAttentionBefore, []any{"failed", 5, 100}, "SEARCH outbox USING INDEX outbox_status_id (status=? AND id<?)"},
		{"outbox others", outboxOthers, []any{100}, "SCAN outbox"},
		{"outbox others, after", outboxOthersBefore, []any{5, 100}, "SEARCH outbox USING INTEGER PRIMARY KEY (rowid<?)"},
	} {
		rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+tt.q, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, tt.want) || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: the plan is\n%s\nwant %s, no sort", tt.name, text, tt.want)
		}
	}
}
