package timesheet

// Generic CSV: date,client,hours[,notes,project,user,billable,id] (SPEC §5),
// columns in any order, matched by name. hours is decimal hours ("1.5",
// "1,5") or H:MM[:SS]; id, when present, is the entry's external id.
var genericSpec = &spec{
	format: Generic,
	aliases: map[field][]string{
		fDate:     {"date"},
		fClient:   {"client"},
		fDuration: {"hours"},
		fNotes:    {"notes"},
		fProject:  {"project"},
		fUser:     {"user"},
		fBillable: {"billable"},
		fID:       {"id"},
	},
	required: []field{fDate, fClient, fDuration},
}
