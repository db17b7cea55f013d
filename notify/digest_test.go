package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"retainer/billing"
	"retainer/store"
)

// digestView is a period's view of n contracts, every fifth flagged (90%
// and more of 40 h used); name makes a contract's client name.
func digestView(n int, name func(i int) string) *store.View {
	p := billing.NewPeriod(2026, 3)
	v := &store.View{Period: p}
	for i := 0; i < n; i++ {
		c := &billing.Contract{ID: fmt.Sprintf("c%05d", i), Client: name(i), Unit: billing.UnitHours}
		used := int64(i%50) * 3600
		v.Rows = append(v.Rows, store.Row{Contract: c, Figures: billing.Figures{Period: p, Used: used, Available: 40 * 3600,
			Remaining: max(40*3600-used, 0), Projected: used, Utilization: billing.Percent(used, 40*3600)}})
	}
	return v
}

func plainName(i int) string { return fmt.Sprintf("Client %d Ltd", i) }

// A long client name, with characters outside the BMP (two UTF-16 units
// each, the way Slack's limits are counted here).
func emojiName(i int) string {
	return strings.Repeat("Ünïcødé 🚀 Holdings ", 1+i%7) + fmt.Sprint(i)
}

func sectionTexts(t *testing.T, blocks []byte) (texts []string, types []string) {
	t.Helper()
	var bl []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(blocks, &bl); err != nil {
		t.Fatal(err)
	}
	for _, b := range bl {
		types = append(types, b.Type)
		if b.Type == "section" {
			texts = append(texts, b.Text.Text)
		}
	}
	return texts, types
}

// TestDigestParts: whatever the number of contracts and the length of
// their names, every part is a message Slack takes — at most 50 blocks,
// 3,000 characters a section, and a measure (text plus a per-block
// allowance) within digestBudget, so its text alone is under 12,000 — and
// together the parts list every contract once, in order.
func TestDigestParts(t *testing.T) {
	asOf := billing.DateOf(2026, 3, 15)
	for _, tc := range []struct {
		n         int
		name      func(int) string
		wantParts int // 0: more than one, any number
	}{
		{0, plainName, 1},
		{2, plainName, 1},
		{100, plainName, 1},
		{150, plainName, 0},
		{1000, plainName, 0},
		{1000, emojiName, 0},
		{5000, plainName, 0},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			v := digestView(tc.n, tc.name)
			d := newDigest(v, "USD", []int{90, 100}, asOf)
			if tc.wantParts == 1 && len(d.parts) != 1 || tc.wantParts == 0 && len(d.parts) < 2 {
				t.Fatalf("%d contracts in %d parts", tc.n, len(d.parts))
			}
			keys := DigestKeys(v, "USD", []int{90, 100}, asOf)
			if len(keys) != len(d.parts) {
				t.Fatalf("%d keys for %d parts", len(keys), len(d.parts))
			}
			if len(keys) == 1 && keys[0] != "digest/2026-03" || len(keys) > 1 && (keys[0] != "digest/2026-03/1" || keys[len(keys)-1] != fmt.Sprintf("digest/2026-03/%d", len(keys))) {
				t.Errorf("keys %q … %q", keys[0], keys[len(keys)-1])
			}
			var all []string
			for k := 1; k <= len(d.parts); k++ {
				blocks := d.blocks(k, 0)
				if err := ValidateBlocks(blocks); err != nil {
					t.Fatalf("part %d: %v", k, err)
				}
				cost, nb, _ := blockTextCost(blocks)
				if cost > digestBudget || nb > maxSlackBlocks {
					t.Errorf("part %d measures %d in %d blocks, want at most %d in %d", k, cost, nb, digestBudget, maxSlackBlocks)
				}
				// With the closing note of the last part queued, still within.
				if more, _, _ := blockTextCost(d.blocks(k, tc.n)); more > digestBudget {
					t.Errorf("part %d with a closing note measures %d", k, more)
				}
				texts, types := sectionTexts(t, blocks)
				if types[0] != "header" {
					t.Errorf("part %d starts with %s", k, types[0])
				}
				if k == 1 {
					texts = texts[1:] // the summary
				}
				for _, s := range texts {
					if s != "" {
						all = append(all, strings.Split(s, "\n")...)
					}
				}
			}
			if len(all) != tc.n {
				t.Fatalf("the parts list %d contracts, want %d", len(all), tc.n)
			}
			for i, l := range all {
				if want := truncate(d.lines[i], maxDigestLine); l != want {
					t.Fatalf("line %d = %q, want %q", i, l, want)
				}
			}
		})
	}
}

// The digest as one message (DigestMessage: `retainer digest`, and a digest
// queued under the one key before it grew) lists every contract in its
// text and says in its blocks how many the later parts hold.
func TestDigestMessageCountsTheRest(t *testing.T) {
	v := digestView(2000, plainName)
	_, text, blocks, err := DigestMessage(v, "USD", []int{90, 100}, billing.DateOf(2026, 3, 15), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	d := newDigest(v, "USD", []int{90, 100}, billing.DateOf(2026, 3, 15))
	if want := moreNote(2000 - len(d.parts[0])); !strings.Contains(string(blocks), want) {
		t.Errorf("blocks do not say %q", want)
	}
	if n := strings.Count(text, "\n• ") + strings.Count(text, "\n⚠ "); n != 2000 {
		t.Errorf("text lists %d contracts, want 2000", n)
	}
	// Flagged first: 36 h of 40 is 90%.
	if first := strings.Split(text, "\n")[3]; !strings.HasPrefix(first, "⚠") {
		t.Errorf("first line %q", first)
	}
}

func TestSlackLenAndTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0}, {"abc", 3}, {"é", 1}, {"⚠", 1}, {"🚀", 2}, {"a🚀b", 4},
	} {
		if got := slackLen(tc.s); got != tc.want {
			t.Errorf("slackLen(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdef", 4, "abc…"},
		{"ab🚀cd", 4, "ab…"}, // the rocket would take 2: it is cut whole
		{"ab🚀cd", 5, "ab🚀…"},
	} {
		if got := truncate(tc.s, tc.n); got != tc.want || slackLen(got) > tc.n {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestBlockTextCost(t *testing.T) {
	blocks := `[{"type":"header","text":{"type":"plain_text","text":"abc"}},
		{"type":"section","text":{"type":"mrkdwn","text":"🚀"},"fields":[{"type":"mrkdwn","text":"xy"}]},
		{"type":"divider"},
		{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"hello"}]}]}]`
	cost, n, err := blockTextCost([]byte(blocks))
	if err != nil {
		t.Fatal(err)
	}
	if want := 4*slackBlockAllowance + 3 + 2 + 2 + 5; cost != want || n != 4 {
		t.Errorf("cost = %d in %d blocks, want %d in 4", cost, n, want)
	}
}
