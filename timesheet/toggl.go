package timesheet

// Toggl Track "Detailed report" CSV export.
//
// Sources consulted (header names only; no code copied):
//   - Toggl support, "Editing and uploading a CSV file" and "CSV import"
//     (support.toggl.com): the detailed report CSV is the import format, with
//     English headers User, Email, Client, Project, Task, Description,
//     Billable, Start date, Start time, Duration, Tags; the Duration format
//     follows the profile setting (classic HH:MM:SS, or decimal).
//   - Header lines of real exports quoted in public code: "User,Email,Client,
//     Project,Task,Description,Billable,Start date,Start time,End date,End
//     time,Duration,Tags,Amount ()" (also "Amount (EUR)", "Amount (USD)"),
//     with a UTF-8 BOM before "User".
//   - solidtime-io/solidtime TogglTimeEntriesImporter: Start date + Start
//     time as "Y-m-d H:i:s" in the user's timezone, Billable Yes/No.
//
// Newer exports: a public test fixture described as "exactly the shape Toggl
// exports" has a BOM, a quoted first column and the header
// "Description",Duration,Project,Start date,Start time,Stop date,Stop time
// with durations like 1:30:00; another parser expects
// Description,Tags,Start date,Start time,Stop date,Stop time. So "Stop
// date"/"Stop time" are read as the end columns. Toggl's new UI calls users
// "Member"; that header spelling is accepted as an alias for User though no
// recorded export shows it. Billable may be localised (a Japanese export has
// "いいえ"); Yes/No in English, Portuguese and Japanese are read.
//
// The CSV has no time-entry id, so ExternalID is "". A running timer has an
// empty end time and/or empty duration and is skipped.
var togglSpec = &spec{
	format: Toggl,
	aliases: map[field][]string{
		fDate:      {"start date"},
		fStartTime: {"start time"},
		fEndDate:   {"end date", "stop date"},
		fEndTime:   {"end time", "stop time"},
		fDuration:  {"duration"},
		fClient:    {"client"},
		fProject:   {"project"},
		fTask:      {"task"},
		fNotes:     {"description"},
		fUser:      {"user", "member"},
		fEmail:     {"email"},
		fBillable:  {"billable"},
	},
	required: []field{fDate, fDuration},
	running:  true,
}
