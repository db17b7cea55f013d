package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"retainer/store"
)

// ChartCID is the Content-ID of a statement email's burndown chart.
const ChartCID = "burndown@retainer"

// StatementChart draws a statement's weekly burndown as a PNG.
func StatementChart(d *store.StatementData) ([]byte, error) {
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
func StatementPage(in StatementInput, t *Templates) (string, error) {
	in.ChartCID = ChartCID
	html, err := RenderStatementHTML(in, t)
	if err != nil {
		return "", err
	}
	png, err := StatementChart(in.Data)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(html, `src="cid:`+ChartCID+`"`, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`), nil
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
