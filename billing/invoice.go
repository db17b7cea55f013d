package billing

// Invoice statuses (SPEC §3 invoice_status): draft, pending, sent and paid
// are stored; overdue is derived from the date.
const (
	InvoiceDraft   = "draft" // under review (statements.review): nothing sent
	InvoicePending = "pending"
	InvoiceSent    = "sent"
	InvoicePaid    = "paid"
	InvoiceOverdue = "overdue"
)

// InvoiceStatusAt returns an invoice's status on asOf from its stored status
// and due date: a sent invoice past its due date is overdue; on the due date
// it is not yet.
func InvoiceStatusAt(stored string, dueOn, asOf Date) string {
	if stored == InvoiceSent && asOf > dueOn {
		return InvoiceOverdue
	}
	return stored
}
