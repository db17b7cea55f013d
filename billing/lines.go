package billing

import (
	"fmt"
	"strconv"
	"strings"
)

// TaxRate is a tax rate in ten-thousandths of a percent: 20% is 200000,
// 8.875% is 88750. It is exact for any rate written with up to four
// decimals.
type TaxRate int64

// TaxRateScale is TaxRate's units in one percent.
const TaxRateScale = 10000

// MaxTaxRate is 100%.
const MaxTaxRate TaxRate = 100 * TaxRateScale

// ParseTaxRate reads a percentage such as "20", "7.7" or "8.875" (at most
// four decimals, 0 to 100).
func ParseTaxRate(s string) (TaxRate, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 4 || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("%q is not a percentage with at most four decimals (such as 20 or 8.875)", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 100 {
		return 0, fmt.Errorf("%q is not a percentage from 0 to 100", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 4-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("%q is not a percentage with at most four decimals", s)
		}
	}
	r := TaxRate(w*TaxRateScale + f)
	if r > MaxTaxRate {
		return 0, fmt.Errorf("%q is more than 100%%", s)
	}
	return r, nil
}

// String is the rate as a percentage, without trailing zeros: "20", "8.875".
func (r TaxRate) String() string {
	s := formatScaled(int64(r), 4)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Tax is the tax on subtotal at rate r: round(subtotal × r / 100) to the
// minor unit, half away from zero (SPEC §14).
func (r TaxRate) Tax(subtotal Money) Money {
	return Money(MulDivRound(int64(subtotal), int64(r), 100*TaxRateScale))
}

// LineKind is what an invoice line charges.
type LineKind string

// The kinds of invoice line.
const (
	LineRetainer LineKind = "retainer" // the monthly fee: quantity 1
	LineOverage  LineKind = "overage"  // hours (or sessions) over what was available, at the overage rate
)

// Line is one invoice line. Amount is exact; Quantity × UnitAmount may
// differ from it by the rounding of the seconds (the overage fee is
// computed from exact seconds, SPEC §1).
type Line struct {
	Kind LineKind
	// Seconds is the overage line's quantity (sessions × SessionSeconds
	// for a sessions contract); 0 on the retainer line, whose quantity is 1.
	Seconds    int64
	Unit       Unit
	UnitAmount Money // the monthly fee, or the overage rate per hour/session
	Amount     Money
	// LateAdjustment is the part of the overage's seconds that are late
	// adjustments from closed periods (may be negative).
	LateAdjustment int64
}

// Invoice is a statement's lines, subtotal, tax and total.
type Invoice struct {
	Lines    []Line
	Subtotal Money // TotalInvoiced: the sum of the lines
	TaxRate  TaxRate
	Tax      Money
	Total    Money // Subtotal + Tax
}

// InvoiceOf lays out figures f of contract c as invoice lines, taxed at
// rate: the retainer fee (when there is one), the billed overage (when
// there is any), the tax.
func InvoiceOf(c *Contract, f Figures, rate TaxRate) Invoice {
	inv := Invoice{Subtotal: f.TotalInvoiced, TaxRate: rate}
	if f.RetainerFee != 0 {
		inv.Lines = append(inv.Lines, Line{Kind: LineRetainer, Unit: f.Unit, UnitAmount: f.RetainerFee, Amount: f.RetainerFee})
	}
	if f.OverageFee != 0 {
		inv.Lines = append(inv.Lines, Line{Kind: LineOverage, Seconds: f.Overage, Unit: f.Unit, UnitAmount: f.OverageRate,
			Amount: f.OverageFee, LateAdjustment: f.LateAdjustment})
	}
	inv.Tax = rate.Tax(inv.Subtotal)
	inv.Total = inv.Subtotal + inv.Tax
	return inv
}
