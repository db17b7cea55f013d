package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// Renderer turns an outbox row into the message to send, from the frozen
// state its key names.
type Renderer struct {
	DB         *store.DB
	Rules      *store.Rules
	Currency   string
	Agency     string
	From       string
	Templates  *report.Templates // the config's, parsed when it was loaded; nil: the embedded ones
	Location   *time.Location
	Thresholds []int // alerts.thresholds: the digest flags contracts at or over the lowest
	// Issuer is the agency's invoice details (agency.*: address, tax id,
	// payment instructions), shown on every statement (SPEC §14).
	Issuer report.Issuer
	// Paper is the PDF invoice's paper (config statements.paper).
	Paper string
	// Fonts are the PDF invoice's extra fonts (config statements.pdf_fonts).
	Fonts []*report.PDFFont
	// BaseURL is where the portal is served (http.base_url): the check-in
	// email links to its decision forms. "" = no links.
	BaseURL string
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
	case store.KindPaymentReminder:
		return r.paymentReminder(ctx, m, k.Invoice())
	case store.KindDigest:
		return r.digest(ctx, m, k.Period, k.Part)
	case store.KindDecision:
		return r.decision(ctx, m, k)
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
	in := report.StatementInput{Data: d, Currency: r.Currency, Agency: r.Agency, Issuer: r.Issuer, AsOf: asOf, ChartCID: report.ChartCID}
	// The Stripe payment link, when Stripe made one (with Stripe
	// configured the email is held until it has: store.Claim).
	if in.PayURL, err = r.DB.PaymentLink(ctx, store.InvoiceNumber(id, p)); err != nil {
		return nil, err
	}
	text, html, err := report.RenderStatementEmail(in, r.Templates)
	if err != nil {
		return nil, err
	}
	png, err := report.StatementChart(d)
	if err != nil {
		return nil, err
	}
	msg := r.base(m)
	msg.Subject = fmt.Sprintf("Statement %s — %s, %s", store.InvoiceNumber(d.Contract.ID, d.Figures.Period), d.Contract.Client, d.Figures.Period.Name())
	msg.Text, msg.HTML = text, html
	msg.Inline = []Inline{{CID: report.ChartCID, Name: "burndown.png", ContentType: "image/png", Data: png}}
	invoice, err := r.statementPDF(in, png)
	if err != nil {
		return nil, err
	}
	msg.Attachments = []Attachment{invoice}
	return msg, nil
}

// statementPDF is the statement's PDF invoice (SPEC §14), attached to its
// email as <invoice-number>.pdf: about 35 kB, the font subset and the
// chart included, far below any mail server's size limit. What the PDF's
// fonts cannot show is drawn as □; `retainer statement --format pdf`
// prints those warnings.
func (r *Renderer) statementPDF(in report.StatementInput, chart []byte) (Attachment, error) {
	in.ChartCID = ""
	pdf, _, err := report.StatementPDF(report.PDFInput{StatementInput: in, Chart: chart, Paper: r.Paper, Fonts: r.Fonts})
	if err != nil {
		return Attachment{}, err
	}
	name := store.InvoiceNumber(in.Data.Contract.ID, in.Data.Figures.Period) + ".pdf"
	return Attachment{Name: name, ContentType: "application/pdf", Data: pdf}, nil
}

// keyFileName is a message key as a file name: / becomes _.
func keyFileName(key string) string { return strings.ReplaceAll(key, "/", "_") }
