package timesheet

// Clockify "Detailed report" CSV export.
//
// Sources consulted (header names only; no code copied):
//   - Clockify help, "Export reports" (clockify.me/help/reports/exporting-reports):
//     the export holds project, client, description, task, user, email,
//     tags, billable status, start date, start time, end date, end time,
//     duration, billable rate, billable amount, currency.
//   - Header lines of exports quoted in public code: "Project,Client,
//     Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,
//     End Date,End Time,Duration (h),Duration (decimal),Billable Rate (USD),
//     Billable Amount (USD)"; durations like "01:30:30" / "2:30:00", decimals
//     like "1.51"; dates in the user's date format (MM/DD/YYYY, DD/MM/YYYY,
//     YYYY-MM-DD) and 12- or 24-hour times per the profile settings.
//   - solidtime-io/solidtime ClockifyTimeEntriesImporter: Start Date/Time as
//     "m/d/Y h:i A" (12-hour) or 24-hour with seconds.
//   - SPEC §5 for the Brazilian Portuguese names Cliente, Data de início,
//     Duração (h). The other Portuguese names below (Projeto, Descrição,
//     Tarefa, Usuário, Faturável, Hora de início, Data/Hora de término) are
//     Clockify's pt-BR UI terms, not checked against a real export.
//
// The CSV has no time-entry id, so ExternalID is "". Duration (h) may be
// H:MM:SS, H:MM, or decimal when the workspace shows decimal durations;
// Duration (decimal) is never read (it is rounded per row). A running timer
// (empty end time or duration) is skipped.
var clockifySpec = &spec{
	format: Clockify,
	aliases: map[field][]string{
		fDate:      {"start date", "data de início", "data de inicio"},
		fStartTime: {"start time", "hora de início", "hora de inicio"},
		fEndDate:   {"end date", "data de término", "data de termino", "data de fim"},
		fEndTime:   {"end time", "hora de término", "hora de termino", "hora de fim"},
		fDuration:  {"duration (h)", "duração (h)", "duracao (h)"},
		fClient:    {"client", "cliente"},
		fProject:   {"project", "projeto"},
		fTask:      {"task", "tarefa"},
		fNotes:     {"description", "descrição", "descricao"},
		fUser:      {"user", "usuário", "usuario"},
		fEmail:     {"email", "e-mail"},
		fBillable:  {"billable", "faturável", "faturavel"},
	},
	required: []field{fDate, fDuration},
	running:  true,
}
