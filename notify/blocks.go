package notify

import "encoding/json"

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
		{Type: "header", Text: &textObject{Type: "plain_text", Text: truncate("Retainer alert: "+client, 150)}},
		{Type: "section", Text: &textObject{Type: "plain_text", Text: truncate(line, 3000)}},
	})
	return b
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
