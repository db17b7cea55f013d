// Package billing owns the retainer rules: periods in the agency timezone,
// contracts with effective-dated terms, the per-period figures (the burn
// tracker row), rollover lots with their cap and expiry, overage, rounding
// and the sessions unit; the forward computation of the open periods from
// the last close (Ledger); when an alert fires and when a period needs the
// agency's eye (Alerts, Flagged); when a renewal is due and what the burn
// rate recommends (RenewalDue, Recommend); when an invoice is overdue
// (InvoiceStatusAt).
//
// It is pure: no database, no clock, no I/O. Time is int64 seconds, money is
// int64 minor units, percentages are int64 tenths; no float touches a figure.
//
// A contract in the sessions unit counts every entry as one session. Inside
// this package a session is carried as SessionSeconds (3600) units, so the
// same arithmetic serves both units and an overage fee is exactly
// sessions × rate.
package billing
