package notify

import (
	"context"
	"fmt"
	"strconv"

	"retainer/billing"
	"retainer/store"
)

// Payment reminders to the client (SPEC §14): an overdue invoice emails the
// contract's contacts on each day past due that reminders.client_overdue_days
// lists, once per day (key payment-reminder/<invoice>/<days>), until it is
// paid.

// PaymentReminderKey is the outbox key of the reminder sent days past the
// due date of contract's invoice for period p.
func PaymentReminderKey(contract string, p billing.Period, days int) string {
	return store.Key{Kind: store.KindPaymentReminder, Contract: contract, Period: p, Part: strconv.Itoa(days)}.String()
}

// PaymentReminderDay is which reminder an invoice is due on today: of the
// listed days past due (ascending), the latest that today has reached, when
// the invoice is overdue (sent, not paid, past dueOn). ok is false when it is
// not overdue or no listed day is reached yet.
//
// Only the latest day reached is ever due: a daemon that was down on day 3
// sends the day-3 reminder late, once, on day 4; but down from day 3 to day
// 11 it sends only the day-10 one, so that a client never gets two reminders
// at once. Whether that day's reminder went out already is the outbox's to
// say (its key).
func PaymentReminderDay(listed []int, status string, dueOn, today billing.Date) (days int, ok bool) {
	if billing.InvoiceStatusAt(status, dueOn, today) != billing.InvoiceOverdue {
		return 0, false
	}
	past := int(today - dueOn)
	for _, d := range listed {
		if d <= past {
			days, ok = d, true
		}
	}
	return days, ok
}

// paymentReminder renders the reminder of invoice; one whose invoice is no
// longer unpaid (paid since it was queued) is ErrObsolete: it is not sent.
func (r *Renderer) paymentReminder(ctx context.Context, m store.OutboxMessage, invoice string) (*Message, error) {
	st, err := r.DB.StatementByInvoice(ctx, invoice)
	if err != nil {
		return nil, err
	}
	if st.Status != store.StatusSent {
		return nil, fmt.Errorf("payment reminder of invoice %s: the invoice is %s: %w", invoice, st.Status, ErrObsolete)
	}
	client := st.ContractID
	if c := r.Rules.Contract(st.ContractID); c != nil {
		client = c.InvoiceName()
	}
	// The Stripe invoice's payment page, when it has one ("" otherwise).
	payURL, err := r.DB.PaymentLink(ctx, invoice)
	if err != nil {
		return nil, err
	}
	// Days overdue as of the day it was queued: a retry says the same.
	days := int(billing.DateAt(m.CreatedAt, r.Location) - st.DueOn)
	overdue := strconv.Itoa(days) + " days"
	if days == 1 {
		overdue = "1 day"
	}
	msg := r.base(m)
	if err := r.fromTemplate("payment-reminder.txt.tmpl", map[string]any{
		"Invoice": invoice, "Client": client, "Period": st.Period.Name(), "AmountDue": st.TotalWithTax().Format(st.Currency),
		"DueOn": st.DueOn.String(), "Days": days, "Overdue": overdue, "IssuedOn": st.IssuedOn.String(),
		"PayURL": payURL, "PaymentInstructions": r.Issuer.PaymentInstructions, "Agency": r.Agency,
	}, msg); err != nil {
		return nil, err
	}
	return msg, nil
}
