package timesheet

// Harvest "Detailed time report" CSV export.
//
// Sources consulted (header names only; no code copied):
//   - Harvest help centre, "Importing and exporting data"
//     (support.getharvest.com/hc/en-us/articles/360048685111): time columns
//     Date, Client, Project, Task, Notes, Hours (decimal), First name, Last
//     name; dates as YYYY-MM-DD or M/D/YYYY; the detailed time report export
//     carries extra columns (rates, roles, ...).
//   - Header lines of real detailed-report exports quoted in public test
//     fixtures (found with the code search): "Date,Client,Project,Project
//     Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,First
//     Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost
//     Rate,Cost Amount,Currency,External Reference URL", and a variant with
//     "Employee Id" and "Teams" after Last Name.
//   - solidtime-io/solidtime HarvestTimeEntriesImporter: reads Date, Hours
//     (accepting a decimal comma), Client, Project, Task, Billable? (Yes/No),
//     First Name, Last Name, Notes.
//
// The export has no entry id ("Employee Id" is a person, "External Reference
// URL" a linked issue) and no start time, so Entry.Date is the Date column as
// written. The header has no running-timer column, and no public source
// says how (or whether) a running timer appears in this export, so no
// Harvest row is skipped as running: a row with an empty Hours is a bad row
// ("missing column value: Hours"), a row with hours is imported as it stands.
var harvestSpec = &spec{
	format: Harvest,
	aliases: map[field][]string{
		fDate:        {"date"},
		fDuration:    {"hours"}, // never "hours rounded"
		fClient:      {"client"},
		fProject:     {"project"},
		fProjectCode: {"project code"},
		fTask:        {"task"},
		fNotes:       {"notes"},
		fFirstName:   {"first name"},
		fLastName:    {"last name"},
		fBillable:    {"billable?"},
	},
	required: []field{fDate, fDuration},
	oneOf:    []string{"hours rounded", "billable?", "first name", "last name", "project code", "invoiced?"},
}
