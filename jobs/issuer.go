package jobs

import (
	"retainer/config"
	"retainer/report"
)

// Issuer is the agency as the config's invoices name it (agency.*, SPEC
// §14): what every statement, PDF and payment message shows of who
// issues the invoice and how to pay it.
func Issuer(cfg *config.Config) report.Issuer {
	a := cfg.Agency
	return report.Issuer{Name: a.Name, Email: a.Email, Address: a.Address, TaxID: a.TaxID, PaymentInstructions: a.PaymentInstructions}
}
