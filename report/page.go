package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"retainer/billing"
	"retainer/store"
)

// ChartCID is the Content-ID of a statement email's burndown chart.
const ChartCID = "burndown@retainer"

// StatementBurndown is the burndown chart of a statement's period: a
// closed period's whole month; an open one's as of asOf, with its
// projection.
func StatementBurndown(d *store.StatementData, asOf billing.Date) Burndown {
	f := d.Figures
	return Burndown{
		Period: f.Period, Unit: d.Contract.Unit, Weeks: d.Weeks, Available: f.Available,
		Open: !d.Closed, AsOf: asOf, Projected: f.Projected,
	}
}

// StatementChart draws a statement's burndown as a PNG, as its email shows
// it: a closed period's whole month. An open period is drawn through its
// last week with no projection; StatementChartAt draws it as of a date.
func StatementChart(d *store.StatementData) ([]byte, error) {
	b := StatementBurndown(d, 0)
	b.Open = false
	return statementPNG(b)
}

// StatementChartAt draws a statement's burndown as a PNG as of asOf.
func StatementChartAt(d *store.StatementData, asOf billing.Date) ([]byte, error) {
	return statementPNG(StatementBurndown(d, asOf))
}

func statementPNG(b Burndown) ([]byte, error) {
	png, err := BurndownPNG(b)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return png, nil
}

// StatementPage renders a statement for a browser: the email's HTML with
// its chart inline as a data: PNG instead of a cid: part. (The HTML is
// styled by style attributes: a page's Content-Security-Policy must allow
// them, and data: images.)
func StatementPage(in StatementInput, t *Templates) (string, error) {
	in.ChartCID = ChartCID
	html, err := RenderStatementHTML(in, t)
	if err != nil {
		return "", err
	}
	png, err := StatementChartAt(in.Data, in.AsOf)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(html, `src="cid:`+ChartCID+`"`, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`), nil
}

// chartImg is the email's <img> of its chart, which StatementDocument
// replaces by the chart itself.
var chartImg = regexp.MustCompile(`<img\b[^>]*\bsrc="cid:` + regexp.QuoteMeta(ChartCID) + `"[^>]*>`)

// StatementDocument renders a statement as an HTML document of its own (the
// CLI's `statement --format html`): the email's HTML with the burndown
// drawn inline as SVG, as wide as its column, where the email has its
// image.
func StatementDocument(in StatementInput, t *Templates) (string, error) {
	in.ChartCID = ChartCID
	html, err := RenderStatementHTML(in, t)
	if err != nil {
		return "", err
	}
	svg, err := burndownSVGFluid(StatementBurndown(in.Data, in.AsOf))
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	return chartImg.ReplaceAllLiteralString(html, string(svg)), nil
}

// RenderStatementHTML renders the statement email's HTML part: tables and
// inline styles, every value escaped.
func RenderStatementHTML(in StatementInput, t *Templates) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, "statement.html.tmpl", newStatementView(in)); err != nil {
		return "", err
	}
	return buf.String(), nil
}
