package timesheet

import "strings"

// Clockify "Detailed report" CSV export.
//
// Clockify writes the header in the language of the exporting user's
// profile (Clockify help, "Export reports"; solidtime-io/solidtime issue
// #294: "Clockify export the data with the language that the user have
// selected"). The names below come from these sources (header names only;
// no code copied):
//   - English: Clockify help, "Export reports" (clockify.me/help/reports/
//     exporting-reports) lists project, client, description, task, user,
//     email, tags, billable status, start date, start time, end date, end
//     time, duration, billable rate, billable amount, currency. Header lines
//     of exports quoted in public code: "Project,Client,Description,Task,
//     User,Group,Email,Tags,Billable,Start Date,Start Time,End Date,End Time,
//     Duration (h),Duration (decimal),Billable Rate (USD),Billable Amount
//     (USD)"; durations like "01:30:30" / "2:30:00", decimals like "1.51";
//     dates in the user's date format (MM/DD/YYYY, DD/MM/YYYY, YYYY-MM-DD,
//     DD.MM.YYYY) and 12- or 24-hour times per the profile settings.
//     solidtime-io/solidtime ClockifyTimeEntriesImporter: Start Date/Time as
//     "m/d/Y h:i A" (12-hour) or 24-hour with seconds.
//   - Brazilian Portuguese: SPEC §5 for Cliente, Data de início, Duração (h).
//     The other Portuguese names (Projeto, Descrição, Tarefa, Usuário,
//     Faturável, Hora de início, Data/Hora de término) are Clockify's pt-BR
//     UI terms, not checked against a real export; the unaccented variants
//     are what a spreadsheet that drops accents writes.
//   - German: the header of a real German export, written next to the
//     English one in potoku/clockify-to-clockodo index.js: "Projekt, Kunde,
//     Beschreibung, Aufgabe, Kiosk, Benutzer, Gruppe, Email, Tags,
//     Abrechenbar, Startdatum, Startzeit, Enddatum, Endzeit, Dauer (h), Dauer
//     (dezimal), Abrechenbarer Tarif (CHF), Rechnungsbetrag (CHF)", billable
//     "Ja"; the same names in Clockify's German help, "Berichte exportieren"
//     (clockify.me/help/de/reports/exporting-reports), which writes the
//     e-mail column "E-Mail".
//   - Spanish: a real export committed as miguellosoyo/SKU "Informe
//     Detallado de Horas 4.csv": "Proyecto","Cliente","Descripción","Tarea",
//     "Usuario","Grupo","Correo electrónico","Etiquetas","Facturable",
//     "Facturado","ID de factura","Fecha de inicio","Hora de inicio","Fecha
//     de finalización","Hora de finalización","Duración (h)","Duración
//     (decimal)","Tarifa facturable (USD)","Importe facturable (USD)","Date
//     of creation" (left in English), then the workspace's custom fields;
//     every field quoted, dates "29/09/2023", times "18:10:00", durations
//     "01:45:00", decimals "1.75", billable "Sí"/"No".
//   - French: the column names found (Projet, Client, Groupe, Description,
//     Email, Utilisateur, Facturable, Date de début, Heure de début, Date de
//     fin, Heure de fin, Durée (décimal), billable "Oui", in
//     mohamedksiaa/internship-project config/import_column_mapping_clockify
//     .json) do not include a "Durée (h)"; the rounded decimal column is
//     never read, so the duration is the span from Date/Heure de début to
//     Date/Heure de fin (spec.span), exact to the second the times carry
//     (recorded exports write HH:MM:SS). "Non" for not billable is the
//     French word, not seen in an export.
//   - Breaks: Clockify help, "Breaks (web)": an export that includes break
//     entries has "an additional column indicating whether the entry is a
//     break or a non-break". Its name "Type" and the value "Break" are as a
//     user reported them; no recorded export shows either, nor the
//     column's name in the other languages.
//
// The CSV has no time-entry id, so ExternalID is "". Duration (h) may be
// H:MM:SS, H:MM, or decimal when the workspace shows decimal durations;
// Duration (decimal) is never read (it is rounded per row). A running timer
// (empty end time or duration) is skipped, and so is a break.
var clockifySpec = newClockifySpec([]clockifyHeader{
	hdr(fDate, english, "start date"),
	hdr(fDate, portuguese, "data de início", "data de inicio"),
	hdr(fDate, german, "startdatum"),
	hdr(fDate, spanish, "fecha de inicio"),
	hdr(fDate, french, "date de début", "date de debut"),

	hdr(fStartTime, english, "start time"),
	hdr(fStartTime, portuguese, "hora de início", "hora de inicio"),
	hdr(fStartTime, german, "startzeit"),
	hdr(fStartTime, spanish, "hora de inicio"),
	hdr(fStartTime, french, "heure de début", "heure de debut"),

	hdr(fEndDate, english, "end date"),
	hdr(fEndDate, portuguese, "data de término", "data de termino", "data de fim"),
	hdr(fEndDate, german, "enddatum"),
	hdr(fEndDate, spanish, "fecha de finalización"),
	hdr(fEndDate, french, "date de fin"),

	hdr(fEndTime, english, "end time"),
	hdr(fEndTime, portuguese, "hora de término", "hora de termino", "hora de fim"),
	hdr(fEndTime, german, "endzeit"),
	hdr(fEndTime, spanish, "hora de finalización"),
	hdr(fEndTime, french, "heure de fin"),

	hdr(fDuration, english, "duration (h)"),
	hdr(fDuration, portuguese, "duração (h)", "duracao (h)"),
	hdr(fDuration, german, "dauer (h)"),
	hdr(fDuration, spanish, "duración (h)"),

	hdr(fClient, english|french, "client"),
	hdr(fClient, portuguese|spanish, "cliente"),
	hdr(fClient, german, "kunde"),

	hdr(fProject, english, "project"),
	hdr(fProject, portuguese, "projeto"),
	hdr(fProject, german, "projekt"),
	hdr(fProject, spanish, "proyecto"),
	hdr(fProject, french, "projet"),

	hdr(fTask, english, "task"),
	hdr(fTask, portuguese, "tarefa"),
	hdr(fTask, german, "aufgabe"),
	hdr(fTask, spanish, "tarea"),

	hdr(fNotes, english|french, "description"),
	hdr(fNotes, portuguese, "descrição", "descricao"),
	hdr(fNotes, german, "beschreibung"),
	hdr(fNotes, spanish, "descripción"),

	hdr(fUser, english, "user"),
	hdr(fUser, portuguese, "usuário", "usuario"),
	hdr(fUser, german, "benutzer"),
	hdr(fUser, spanish, "usuario"),
	hdr(fUser, french, "utilisateur"),

	hdr(fEmail, english|german|french, "email"),
	hdr(fEmail, portuguese|german, "e-mail"),
	hdr(fEmail, spanish, "correo electrónico"),

	hdr(fBillable, english, "billable"),
	hdr(fBillable, portuguese, "faturável", "faturavel"),
	hdr(fBillable, german, "abrechenbar"),
	hdr(fBillable, spanish|french, "facturable"),

	// The break column's name is known in English only; Clockify may
	// well leave it in English, as it does "Date of creation".
	hdr(fType, anyLanguage, "type"),
})

// clockifyHeader is one field's spelling(s) in some languages.
type clockifyHeader struct {
	field     field
	languages language
	spellings []string
}

func hdr(f field, l language, spellings ...string) clockifyHeader {
	return clockifyHeader{f, l, spellings}
}

func newClockifySpec(headers []clockifyHeader) *spec {
	sp := &spec{
		format:    Clockify,
		aliases:   map[field][]string{},
		required:  []field{fDate, fDuration},
		running:   true,
		span:      true,
		spellings: map[string]language{},
	}
	for _, h := range headers {
		for _, s := range h.spellings {
			if _, seen := sp.spellings[s]; !seen {
				sp.aliases[h.field] = append(sp.aliases[h.field], s)
			}
			sp.spellings[s] |= h.languages
		}
	}
	return sp
}

// isBreak reports whether a Type value marks a Clockify break entry.
func isBreak(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "break") }
