package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/templates"
)

// Renderer turns an outbox row into the message to send, from the frozen
// state its key names.
type Renderer struct {
	DB           *store.DB
	Rules        *store.Rules
	Currency     string
	Agency       string
	From         string
	TemplatesDir string
	Location     *time.Location
	Thresholds   []int // alerts.thresholds: the digest flags contracts at or over the lowest
}

// Render builds the message for m.
func (r *Renderer) Render(ctx context.Context, m store.OutboxMessage) (*Message, error) {
	k, err := store.ParseKey(m.Key)
	if err != nil {
		return nil, fmt.Errorf("no message is rendered for key %q: %w", m.Key, err)
	}
	switch k.Kind {
	case store.KindStatement:
		return r.statement(ctx, m, k.Contract, k.Period)
	case store.KindAlert:
		return r.alert(ctx, m, k.Contract, k.Period, k.Part, false)
	case store.KindClientAlert:
		return r.alert(ctx, m, k.Contract, k.Period, "", true)
	case store.KindCheckin:
		return r.checkin(ctx, m, k.Contract, k.Period)
	case store.KindRenewal:
		return r.renewal(ctx, m, k.Contract)
	case store.KindOverdue:
		return r.overdue(ctx, m, k.Invoice())
	case store.KindDigest:
		if k.Part == "" {
			return r.digest(ctx, m, k.Period)
		}
	}
	return nil, fmt.Errorf("no message is rendered for key %q", m.Key)
}

// base is the message an outbox row becomes, before its content.
func (r *Renderer) base(m store.OutboxMessage) *Message {
	return &Message{ID: m.ID, Key: m.Key, Channel: m.Channel, To: m.To, From: r.From, Date: m.CreatedAt}
}

// figures loads contract id's statement data for period p as of the day
// the message was queued, so a retry renders the same figures.
func (r *Renderer) figures(ctx context.Context, m store.OutboxMessage, id string, p billing.Period) (*store.StatementData, billing.Date, error) {
	asOf := billing.DateAt(m.CreatedAt, r.Location)
	d, err := r.DB.StatementFor(ctx, r.Rules, id, p, asOf)
	return d, asOf, err
}

func (r *Renderer) statement(ctx context.Context, m store.OutboxMessage, id string, p billing.Period) (*Message, error) {
	d, asOf, err := r.figures(ctx, m, id, p)
	if err != nil {
		return nil, err
	}
	in := StatementInput{Data: d, Currency: r.Currency, Agency: r.Agency, AsOf: asOf, ChartCID: chartCID}
	text, err := RenderStatement(in, FormatText, r.TemplatesDir)
	if err != nil {
		return nil, err
	}
	html, err := RenderStatementHTML(in, r.TemplatesDir)
	if err != nil {
		return nil, err
	}
	png, err := statementChart(d)
	if err != nil {
		return nil, err
	}
	v := newStatementView(in)
	msg := r.base(m)
	msg.Subject = fmt.Sprintf("Statement %s — %s, %s", v.InvoiceNumber, d.Contract.Client, v.PeriodName)
	msg.Text, msg.HTML = text, html
	msg.Inline = []Inline{{CID: chartCID, Name: "burndown.png", ContentType: "image/png", Data: png}}
	return msg, nil
}

// chartCID is the Content-ID of a statement email's burndown chart.
const chartCID = "burndown@retainer"

// statementChart draws a statement's weekly burndown.
func statementChart(d *store.StatementData) ([]byte, error) {
	png, err := BurndownPNG("Weekly burndown, "+d.Figures.Period.Name(), d.Weeks, d.Figures.Available, d.Contract.Unit)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return png, nil
}

// StatementPage renders a statement for a browser: the email's HTML with
// its chart inline as a data: PNG instead of a cid: part. (The HTML is
// styled by style attributes: a page's Content-Security-Policy must allow
// them, and data: images.)
func StatementPage(in StatementInput, overrideDir string) (string, error) {
	in.ChartCID = chartCID
	html, err := RenderStatementHTML(in, overrideDir)
	if err != nil {
		return "", err
	}
	png, err := statementChart(in.Data)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(html, `src="cid:`+chartCID+`"`, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`), nil
}

// RenderStatementHTML renders the statement email's HTML part: tables and
// inline styles, every value escaped.
func RenderStatementHTML(in StatementInput, overrideDir string) (string, error) {
	const name = "statement.html.tmpl"
	body, err := templateBody(name, overrideDir)
	if err != nil {
		return "", err
	}
	t, err := parseHTML(name, body)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, newStatementView(in)); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}

// templateBody reads name from dir when it is there, else the embedded one.
func templateBody(name, dir string) ([]byte, error) {
	if dir != "" {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return body, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	body, err := templates.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return body, nil
}

// keyFileName is a message key as a file name: / becomes _.
func keyFileName(key string) string { return strings.ReplaceAll(key, "/", "_") }
