package config

import (
	"reflect"
	"testing"
)

// TestExports: the accounting export codes (exports.xero.*,
// exports.quickbooks.*) default to the names a new Xero organisation and a
// new QuickBooks Online US company have, take the file's and the
// environment's values trimmed, and refuse what is not one line of text.
func TestExports(t *testing.T) {
	defaults := Exports{
		Xero:       XeroExport{AccountCode: "200", TaxType: "Tax on Sales", ExemptTaxType: "Tax Exempt"},
		QuickBooks: QuickBooksExport{Item: "Services", TaxCode: "TAX", ExemptTaxCode: "NON"},
	}
	uk := defaults
	uk.Xero = XeroExport{AccountCode: "4000", TaxType: "20% (VAT on Income)", ExemptTaxType: "No VAT"}
	ukQBO := defaults
	ukQBO.QuickBooks = QuickBooksExport{Item: "Retainer: Monthly", TaxCode: "20.0% S", ExemptTaxCode: "No VAT"}
	tests := []struct {
		name string
		yaml string
		env  []string
		want Exports
		errs []string // the error paths, in order; nil = loads
	}{
		{name: "defaults", yaml: minimal, want: defaults},
		{name: "xero", yaml: "exports:\n  xero:\n    account_code: ' 4000 '\n    tax_type: 20% (VAT on Income)\n    exempt_tax_type: No VAT\n" + minimal, want: uk},
		{name: "quickbooks", yaml: "exports:\n  quickbooks:\n    item: 'Retainer: Monthly'\n    tax_code: 20.0% S\n    exempt_tax_code: No VAT\n" + minimal, want: ukQBO},
		{name: "from the environment", yaml: minimal,
			env:  []string{"RETAINER_EXPORTS__XERO__ACCOUNT_CODE=4000", "RETAINER_EXPORTS__XERO__TAX_TYPE=20% (VAT on Income)", "RETAINER_EXPORTS__XERO__EXEMPT_TAX_TYPE=No VAT"},
			want: uk},
		{name: "a number is a code", yaml: "exports:\n  xero:\n    account_code: 4000\n" + minimal,
			want: Exports{Xero: XeroExport{AccountCode: "4000", TaxType: "Tax on Sales", ExemptTaxType: "Tax Exempt"}, QuickBooks: defaults.QuickBooks}},
		{name: "line break", yaml: "exports:\n  quickbooks:\n    item: \"Ser\\nvices\"\n" + minimal, errs: []string{"exports.quickbooks.item"}},
		{name: "control character", yaml: "exports:\n  xero:\n    tax_type: \"Tax\\u0007\"\n" + minimal, errs: []string{"exports.xero.tax_type"}},
		{name: "unknown key", yaml: "exports:\n  xero:\n    account: 200\n  sage: {}\n" + minimal, errs: []string{"exports.sage", "exports.xero.account"}},
		{name: "not a mapping", yaml: "exports: xero\n" + minimal, errs: []string{"exports"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.errs != nil {
				_, err := load(t, tt.yaml, tt.env...)
				if got := paths(t, err); !reflect.DeepEqual(got, tt.errs) {
					t.Errorf("error paths %q, want %q: %v", got, tt.errs, err)
				}
				return
			}
			if got := mustLoad(t, tt.yaml, tt.env...).Exports; got != tt.want {
				t.Errorf("exports\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
