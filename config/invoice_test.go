package config

import (
	"errors"
	"strings"
	"testing"
)

// The invoice keys of SPEC §14: each bad value is refused naming its path.
func TestInvoiceKeysRefused(t *testing.T) {
	const contract = "contracts:\n  a:\n    client: A\n    monthly_hours: 10\n    monthly_fee: 100\n"
	for _, tc := range []struct{ yaml, want string }{
		{contract + "    tax_rate: -1\n", `contracts.a.tax_rate: "-1" is not a percentage`},
		{contract + "    tax_rate: 101\n", `contracts.a.tax_rate: "101" is not a percentage from 0 to 100`},
		{contract + "    tax_rate: 7.12345\n", `contracts.a.tax_rate: "7.12345" is not a percentage with at most four decimals`},
		{contract + "    currency: euro\n", `contracts.a.currency: "euro" is not an ISO 4217 code`},
		{contract + "    currency: XYZ\n", `contracts.a.currency: "XYZ" is not an active ISO 4217 currency code`},
		{contract + "    billing_name: \"A\\nB\"\n", `contracts.a.billing_name: must be one line of plain text`},
		{contract + "    billing_address: \"Main St\\u0007\"\n", `contracts.a.billing_address: must be plain text`},
		{contract + "agency:\n  payment_instructions: \"IBAN\\u202e\"\n", `agency.payment_instructions: must be plain text`},
		{contract + "statements:\n  paper: legal\n", `statements.paper: must be a4, letter, not "legal"`},
	} {
		_, err := load(t, tc.yaml)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
	// Good values: a contract in its own currency, a rate with decimals,
	// Letter paper.
	cfg := mustLoad(t, contract+"    currency: jpy\n    tax_rate: 8.875\nstatements:\n  paper: Letter\n")
	if c := cfg.Contract("a"); c.Currency != "JPY" || c.TaxRate != 88750 || c.Terms.MonthlyFee != 100 || cfg.Statements.Paper != "letter" {
		t.Errorf("currency %s, rate %d, fee %d (yen have no minor unit), paper %q", c.Currency, c.TaxRate, c.Terms.MonthlyFee, cfg.Statements.Paper)
	}
}
