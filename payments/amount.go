package payments

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"retainer/billing"
)

// Stripe writes amounts in a currency's smallest unit, but its idea of that
// unit is not always ISO 4217's, which billing keeps
// (https://docs.stripe.com/currencies, "Zero-decimal currencies",
// "Three-decimal currencies" and "Special cases"):
//   - zero-decimal in Stripe: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX
//     VND VUV XAF XOF XPF — all of them zero-decimal in ISO too but MGA
//     (two in ISO: an amount with ariary cents cannot be billed);
//   - three-decimal: BHD JOD KWD OMR TND, and the last digit must be 0;
//   - ISK stays two-decimal in the API (100 is one króna) though only whole
//     krónur are charged: ISO's whole krónur times 100;
//   - every other currency two.
var stripeZeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

var stripeThreeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// stripeDigits is how many decimals Stripe's API writes an amount of
// currency with.
func stripeDigits(currency string) int {
	c := strings.ToUpper(currency)
	switch {
	case stripeZeroDecimal[c]:
		return 0
	case stripeThreeDecimal[c]:
		return 3
	}
	return 2
}

// ErrInexact is an amount that Stripe cannot take exactly in its currency.
var ErrInexact = errors.New("cannot be billed exactly in Stripe")

// Amount converts m, in currency's minor units as billing keeps them (ISO
// 4217's), to Stripe's. An amount Stripe cannot take exactly is ErrInexact:
// a fraction of an ariary, a three-decimal amount whose last digit is not 0.
func Amount(m billing.Money, currency string) (int64, error) {
	iso, st := billing.CurrencyDigits(currency), stripeDigits(currency)
	v := int64(m)
	for ; iso < st; iso++ {
		if v > math.MaxInt64/10 || v < math.MinInt64/10 {
			return 0, fmt.Errorf("%s: too large", m.Format(currency))
		}
		v *= 10
	}
	for ; iso > st; iso-- {
		if v%10 != 0 {
			return 0, fmt.Errorf("%s %w (Stripe takes %s with %d decimals)", m.Format(currency), ErrInexact, strings.ToUpper(currency), stripeDigits(currency))
		}
		v /= 10
	}
	if stripeThreeDecimal[strings.ToUpper(currency)] && v%10 != 0 {
		return 0, fmt.Errorf("%s %w (Stripe charges %s only in multiples of 10 of its smallest unit)", m.Format(currency), ErrInexact, strings.ToUpper(currency))
	}
	return v, nil
}

// Item is one line of a Stripe invoice: a description and an exact amount
// in billing's minor units.
type Item struct {
	Description string
	Amount      billing.Money
}

// Items lays out a statement's invoice for Stripe: one item per invoice
// line, then the tax as an item of its own (when there is tax), so that the
// items add up, to the minor unit, to the total with tax that the statement
// and its PDF show. (A Stripe tax rate would have Stripe compute the tax
// again, with its own rounding, per line.) Amounts are the lines' exact
// amounts, never quantity × unit price, whose rounding may differ.
func Items(bill billing.Invoice, p billing.Period, currency string) []Item {
	var out []Item
	for _, l := range bill.Lines {
		switch l.Kind {
		case billing.LineRetainer:
			out = append(out, Item{Description: "Retainer " + p.String(), Amount: l.Amount})
		case billing.LineOverage:
			out = append(out, Item{Amount: l.Amount, Description: fmt.Sprintf("Overage %s: %s %s at %s",
				p, billing.FormatQuantity(l.Seconds, l.Unit), unitName(l.Unit), l.UnitAmount.Format(currency))})
		default:
			out = append(out, Item{Description: string(l.Kind) + " " + p.String(), Amount: l.Amount})
		}
	}
	if bill.Tax != 0 {
		out = append(out, Item{Description: "Tax " + bill.TaxRate.String() + "%", Amount: bill.Tax})
	}
	return out
}

func unitName(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "sessions"
	}
	return "hours"
}
