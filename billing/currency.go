package billing

import (
	"sort"
	"strings"
)

// currencies are the active ISO 4217 codes of currencies and funds (List
// One, 2025), and the codes still in transition to their successors (ANG
// to XCG, SLL to SLE, BGN to EUR). Left out on purpose: precious metals
// (XAU, XAG, XPD, XPT), bond-market units (XBA–XBD), the SDR (XDR), XSU,
// XUA, the test code XTS and XXX ("no currency") — none of them is what a
// client is invoiced in — and withdrawn codes (HRK, CUC, ZWL, VEF, …).
var currencies = [...]string{
	"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
	"CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
	"DJF", "DKK", "DOP", "DZD",
	"EGP", "ERN", "ETB", "EUR",
	"FJD", "FKP",
	"GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
	"HKD", "HNL", "HTG", "HUF",
	"IDR", "ILS", "INR", "IQD", "IRR", "ISK",
	"JMD", "JOD", "JPY",
	"KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
	"LAK", "LBP", "LKR", "LRD", "LSL", "LYD",
	"MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN",
	"NAD", "NGN", "NIO", "NOK", "NPR", "NZD",
	"OMR",
	"PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
	"QAR",
	"RON", "RSD", "RUB", "RWF",
	"SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
	"THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
	"UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
	"VED", "VES", "VND", "VUV",
	"WST",
	"XAF", "XCD", "XCG", "XOF", "XPF",
	"YER",
	"ZAR", "ZMW", "ZWG",
}

// KnownCurrency reports whether code (any case) is an active ISO 4217
// currency that a statement may be in.
func KnownCurrency(code string) bool {
	code = strings.ToUpper(code)
	i := sort.SearchStrings(currencies[:], code)
	return i < len(currencies) && currencies[i] == code
}
