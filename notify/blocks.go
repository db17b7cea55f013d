package notify

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
)

// What one Slack message's blocks may hold.
//
// The per-block limits are documented (docs.slack.dev, Block Kit reference:
// at most 50 blocks a message; a section's text at most 3,000 characters,
// its fields at most 10 of 2,000; a header at most 150). The limit on a
// whole message's block text is not: chat.postMessage refuses more with
// msg_blocks_too_long. slackapi/bolt-js#2509 found it near 13,200
// characters of text, lower as blocks are added (one divider took 125
// characters off it), and a Slack maintainer there described it as "12,000
// text characters with a buffer for block containers"; bolt-js#2867 was
// refused at 11,341 characters of text spread over many blocks. So a
// message is measured here as its text plus an allowance per block, and
// the digest packs each message well under maxSlackBlockText by that
// measure (digestBudget).
const (
	maxSlackBlocks        = 50
	maxSlackSectionText   = 3000
	maxSlackSectionFields = 10
	maxSlackFieldText     = 2000
	maxSlackHeaderText    = 150

	// maxSlackBlockText is the most a message's blocks may measure
	// (blockTextCost): beyond it Slack answers msg_blocks_too_long.
	maxSlackBlockText = 12000
	// slackBlockAllowance is what each top-level block counts besides its
	// text: the container cost seen in bolt-js#2509.
	slackBlockAllowance = 125
)

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type block struct {
	Type string      `json:"type"`
	Text *textObject `json:"text,omitempty"`
}

// alertBlocks is an alert as Slack Block Kit: a header and one section.
// Text is plain (no mrkdwn), so names cannot inject formatting.
func alertBlocks(client, line string) []byte {
	b, _ := json.Marshal([]block{
		{Type: "header", Text: &textObject{Type: "plain_text", Text: truncate("Retainer alert: "+client, maxSlackHeaderText)}},
		{Type: "section", Text: &textObject{Type: "plain_text", Text: truncate(line, maxSlackSectionText)}},
	})
	return b
}

// slackLen is the length of s as Slack's limits are counted here: in UTF-16
// code units, the string length of the JavaScript clients that measured
// them (bolt-js#2509, #2867). It is never less than the number of runes,
// so a text within it is within any count by characters.
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++ // an invalid rune is sent as U+FFFD
		}
	}
	return n
}

// truncate cuts s to at most n (slackLen), ending with "…" when cut.
func truncate(s string, n int) string {
	if slackLen(s) <= n {
		return s
	}
	used := 1 // the ellipsis
	for i, r := range s {
		l := utf16.RuneLen(r)
		if l < 1 {
			l = 1
		}
		if used+l > n {
			return s[:i] + "…"
		}
		used += l
	}
	return s
}

// blockTextCost measures a message's blocks (a JSON array) as Slack's
// undocumented budget is kept here: every "text" string anywhere in every
// block (text objects, fields, rich text elements), plus
// slackBlockAllowance per top-level block. It returns the number of blocks
// too.
func blockTextCost(blocks []byte) (cost, n int, err error) {
	var raw []any
	if err := json.Unmarshal(blocks, &raw); err != nil {
		return 0, 0, fmt.Errorf("blocks: not a JSON array: %w", err)
	}
	for _, b := range raw {
		cost += slackBlockAllowance + textLen(b)
	}
	return cost, len(raw), nil
}

// textLen sums the slackLen of every string under a "text" key in v.
func textLen(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				if k == "text" {
					n += slackLen(s)
				}
				continue
			}
			n += textLen(e)
		}
	case []any:
		for _, e := range x {
			n += textLen(e)
		}
	}
	return n
}
