package timesheet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// The Clockify headers below are the real ones clockify.go cites:
//   - German: potoku/clockify-to-clockodo index.js (columnsClockifyDe), the
//     header of a German detailed-report export; names confirmed by
//     clockify.me/help/de/reports/exporting-reports.
//   - Spanish: miguellosoyo/SKU "Informe Detallado de Horas 4.csv" (commit
//     5fb8488037b669b8ab0acac150e30960e3864e8f), a recorded export.
//   - French: mohamedksiaa/internship-project
//     config/import_column_mapping_clockify.json (no "Durée (h)" in it: the
//     duration is read as the span from start to end).
//   - The break column (testdata/clockify_breaks.csv too): Clockify help,
//     "Breaks (web)", says only that an export including breaks gets "an
//     additional column indicating whether the entry is a break or a
//     non-break"; the name "Type" and the value "Break" are as a user reported them, and
//     "Regular" for work rows is a stand-in (any other value is work).
//
// German Ja/Nein: the Abrechenbar values a dashboard over a real German
// export compares with (found by the code search; its repository is not
// named by the index), and potoku's converter tests "ja".
// The rows are made up; their date and duration forms are those of the
// recorded exports (DD/MM/YYYY, 24-hour "18:10:00", "01:45:00") or of the
// profile and spreadsheet variations SPEC §5 lists (dotted dates, decimal
// commas, semicolons).
const (
	germanHeader = `"Projekt","Kunde","Beschreibung","Aufgabe","Kiosk","Benutzer","Gruppe","Email","Tags","Abrechenbar",` +
		`"Startdatum","Startzeit","Enddatum","Endzeit","Dauer (h)","Dauer (dezimal)","Abrechenbarer Tarif (CHF)","Rechnungsbetrag (CHF)"`
	spanishHeader = `"Proyecto","Cliente","Descripción","Tarea","Usuario","Grupo","Correo electrónico","Etiquetas","Facturable","Facturado",` +
		`"ID de factura","Fecha de inicio","Hora de inicio","Fecha de finalización","Hora de finalización","Duración (h)",` +
		`"Duración (decimal)","Tarifa facturable (USD)","Importe facturable (USD)","Date of creation"`
	frenchHeader = "Projet,Client,Groupe,Description,Email,Utilisateur,Facturable,Date de début,Heure de début,Date de fin,Heure de fin,Durée (décimal)"
)

// de and es build a row of the German or Spanish header from the fields
// that matter here.
func de(client, billable, date, start, end, hours string) string {
	return `"Web","` + client + `","Notiz","","","Jürgen","","j@example.ch","","` + billable + `","` + date + `","` + start +
		`","` + date + `","` + end + `","` + hours + `","0.00","0.00","0.00"`
}

func es(client, billable, date, hours string) string {
	return `"Web","` + client + `","Nota","","Ana","","a@example.com","","` + billable + `","No","","` + date +
		`","09:00:00","` + date + `","10:00:00","` + hours + `","0.00","0.00","0.00","` + date + `"`
}

type brief struct {
	Date     string
	Seconds  int64
	Client   string
	Billable bool
}

func TestClockifyLanguages(t *testing.T) {
	tests := []struct {
		name   string
		csv    string
		opts   Options
		want   []brief
		breaks int
		rowErr []RowError // reasons are substrings
		err    error      // errors.Is target
		errHas string
	}{
		{name: "German, BOM, all quoted, dotted dates",
			csv:  "\ufeff" + germanHeader + "\r\n" + de("Müller GmbH", "Ja", "16.03.2026", "09:00:00", "10:30:00", "01:30:00") + "\r\n",
			want: []brief{{"2026-03-16", 5400, "Müller GmbH", true}}},
		{name: "German Nein is non-billable, ISO dates",
			csv:  germanHeader + "\n" + de("Müller GmbH", "Nein", "2026-03-16", "09:00:00", "09:45:00", "0:45") + "\n",
			want: []brief{{"2026-03-16", 2700, "Müller GmbH", false}}},
		{name: "German header in capitals with stray spaces",
			csv: strings.NewReplacer(`"Projekt"`, `"  PROJEKT "`, `"Kunde"`, `"KUNDE"`, `"Startdatum"`, `" startdatum"`, `"Dauer (h)"`, `"DAUER   (H) "`).Replace(germanHeader) +
				"\n" + de("Müller GmbH", "JA", "16.03.2026", "09:00:00", "10:30:00", "01:30:00") + "\n",
			want: []brief{{"2026-03-16", 5400, "Müller GmbH", true}}},
		{name: "German through a spreadsheet: semicolons, decimal comma",
			csv: strings.ReplaceAll(germanHeader, `","`, `";"`) + "\n" +
				strings.ReplaceAll(de("Müller GmbH", "Ja", "16.03.2026", "09:00", "10:30", "1,50"), `","`, `";"`) + "\n",
			want: []brief{{"2026-03-16", 5400, "Müller GmbH", true}}},
		{name: "German day-first slashes decided by a day over 12",
			csv: germanHeader + "\n" + de("A", "Ja", "03/04/2026", "09:00", "10:00", "1:00") + "\n" +
				de("A", "Ja", "16/04/2026", "09:00", "10:00", "1:00") + "\n",
			want: []brief{{"2026-04-03", 3600, "A", true}, {"2026-04-16", 3600, "A", true}}},
		{name: "Spanish as recorded: DD/MM/YYYY decided by the file, Sí/No",
			csv:  spanishHeader + "\n" + es("Banco", "Sí", "02/10/2026", "01:45:00") + "\n" + es("Banco", "No", "29/09/2026", "00:30:00") + "\n",
			want: []brief{{"2026-10-02", 6300, "Banco", true}, {"2026-09-29", 1800, "Banco", false}}},
		{name: "Spanish with only ambiguous dates needs import.date_order",
			csv: spanishHeader + "\n" + es("Banco", "Sí", "02/10/2026", "01:45:00") + "\n",
			err: ErrDateOrder},
		{name: "Spanish with only ambiguous dates and date_order dmy",
			csv:  spanishHeader + "\n" + es("Banco", "Sí", "02/10/2026", "01:45:00") + "\n",
			opts: Options{DateOrder: "dmy"},
			want: []brief{{"2026-10-02", 6300, "Banco", true}}},
		{name: "Spanish decimal comma",
			csv:  spanishHeader + "\n" + es("Banco", "Sí", "29/09/2026", "1,75") + "\n",
			want: []brief{{"2026-09-29", 6300, "Banco", true}}},
		{name: "Spanish with the break column Clockify adds in English",
			csv: strings.TrimSuffix(spanishHeader, `"Date of creation"`) + `"Date of creation","Type"` + "\n" +
				es("Banco", "Sí", "29/09/2026", "1:30") + `,"Regular"` + "\n" + es("Banco", "Sí", "29/09/2026", "1:00") + `,"Break"` + "\n",
			want:   []brief{{"2026-09-29", 5400, "Banco", true}},
			breaks: 1},
		{name: "mixed: a German header with one English column",
			csv:    strings.Replace(germanHeader, `"Kunde"`, `"Client"`, 1) + "\n" + de("A", "Ja", "16.03.2026", "09:00", "10:00", "1:00") + "\n",
			rowErr: []RowError{{1, `the header mixes languages: column 2 ("Client") is English or French, but the columns before it ("Projekt") are German`}}},
		{name: "mixed: the date in English and in Spanish",
			csv:    "Start Date,Fecha de inicio,Client,Duration (h)\n2026-03-16,2026-03-16,A,1:00\n",
			rowErr: []RowError{{1, `column 2 ("Fecha de inicio") is Spanish, but the columns before it ("Start Date") are English`}}},
		{name: "mixed: a word both Portuguese and Spanish, then one of each",
			csv:    "Cliente,Projeto,Fecha de inicio,Duração (h)\nA,P,2026-03-16,1:00\n",
			rowErr: []RowError{{1, `column 3 ("Fecha de inicio") is Spanish, but the columns before it ("Cliente", "Projeto") are Brazilian Portuguese`}}},
		{name: "mixed is refused with a forced format too",
			csv:    strings.Replace(germanHeader, `"Startzeit"`, `"Hora de inicio"`, 1) + "\n" + de("A", "Ja", "16.03.2026", "09:00", "10:00", "1:00") + "\n",
			opts:   Options{Format: Clockify},
			rowErr: []RowError{{1, `("Hora de inicio") is Brazilian Portuguese or Spanish, but the columns before it ("Projekt", "Kunde", "Beschreibung", …) are German`}}},
		// French has no "Durée (h)" in any source found, only the rounded
		// "Durée (décimal)": the duration is the span from start to end,
		// exact to the second the times carry; past midnight too; a row
		// without an end time is a running timer.
		{name: "French: the duration is the span from start to end",
			csv: frenchHeader + "\n" +
				"Web,A,,Note,a@example.fr,Anne,Oui,03/16/2026,09:00:00,03/16/2026,10:29:59,1.50\n" +
				"Web,A,,Nuit,a@example.fr,Anne,Non,03/16/2026,23:15:00,03/17/2026,00:45:30,1.51\n" +
				"Web,A,,En cours,a@example.fr,Anne,Oui,03/17/2026,09:00:00,,,\n",
			want: []brief{{"2026-03-16", 5399, "A", true}, {"2026-03-16", 5430, "A", false}}},
		{name: "French: an end before the start is a bad row",
			csv:    frenchHeader + "\nWeb,A,,Note,a@example.fr,Anne,Oui,03/16/2026,10:00:00,03/16/2026,09:00:00,1.00\n",
			rowErr: []RowError{{2, `before it starts`}}},
		{name: "breaks whatever their case or state, even with a bad date",
			csv: "Project,Client,Start Date,Start Time,End Time,Duration (h),Type\n" +
				"W,A,03/16/2026,09:00,10:30,1:30:00,\n" +
				"W,A,03/16/2026,12:00,13:00,1:00:00, BREAK \n" +
				"W,A,03/16/2026,14:00,,,break\n" +
				"W,A,not a date,15:00,15:10,0:10:00,Break\n",
			want:   []brief{{"2026-03-16", 5400, "A", true}},
			breaks: 3},
		{name: "Toggl minutes form",
			csv:  "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags\nA,a@x,Acme,P,,d,Yes,2026-03-02,09:00:00,2026-03-02,09:47:06,47:06 min,\n",
			want: []brief{{"2026-03-02", 2826, "Acme", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, entries, err := parseString(t, tt.csv, tt.opts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.rowErr != nil {
				if len(sum.Errors) != len(tt.rowErr) || len(entries) != 0 {
					t.Fatalf("errors = %v, entries %v; want %v", sum.Errors, entries, tt.rowErr)
				}
				for i, e := range sum.Errors {
					if e.Line != tt.rowErr[i].Line || !strings.Contains(e.Reason, tt.rowErr[i].Reason) {
						t.Errorf("error %d = %v, want line %d containing %q", i, e, tt.rowErr[i].Line, tt.rowErr[i].Reason)
					}
				}
				return
			}
			if len(sum.Errors) > 0 {
				t.Fatalf("row errors: %v", sum.Errors)
			}
			if sum.Format != Clockify && !strings.Contains(tt.name, "Toggl") {
				t.Errorf("format = %q", sum.Format)
			}
			var have []brief
			for _, e := range entries {
				have = append(have, brief{e.Date.String(), e.Seconds, e.Client, e.Billable})
			}
			if !reflect.DeepEqual(have, tt.want) {
				t.Errorf("entries = %+v\nwant %+v", have, tt.want)
			}
			if sum.Breaks != tt.breaks {
				t.Errorf("breaks = %d, want %d", sum.Breaks, tt.breaks)
			}
		})
	}
}

// 1.5 h of work and a 1 h break in one export count 1.5 h, and the import
// says a break row was skipped.
func TestImportFileSkipsBreaks(t *testing.T) {
	im, db, rules := csvImporter(t)
	b, err := os.ReadFile(filepath.Join("testdata", "clockify_breaks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clockify.csv")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := im.ImportFile(context.Background(), path)
	if res.Rejected() || res.Imported != 1 || res.Rows != 1 || res.Breaks != 1 {
		t.Fatalf("imported %d rows %d breaks %d: %v %v", res.Imported, res.Rows, res.Breaks, res.Err, res.Errors)
	}
	if got := marchUsed(t, db, rules); got != 5400 {
		t.Errorf("used %d s, want 5400 (1.5 h of work; the 1 h break is not work)", got)
	}
}

// A hand-edited header that mixes languages is refused at FILE:1, and
// nothing is imported.
func TestImportFileMixedLanguagesNamesFileAndLine(t *testing.T) {
	im, db, rules := csvImporter(t)
	path := filepath.Join(t.TempDir(), "export.csv")
	body := "Projekt,Client,Startdatum,Dauer (h)\nWeb,Acme Corp,16.03.2026,1:00\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	res := im.ImportFile(context.Background(), path)
	if !res.Rejected() {
		t.Fatalf("accepted: %+v", res)
	}
	const want = `export.csv:1: the header mixes languages: column 2 ("Client") is English or French, but the columns before it ("Projekt") are German; export the report again instead of editing its header` + "\n"
	if got := res.ErrorText("export.csv"); got != want {
		t.Errorf("error text:\n got %q\nwant %q", got, want)
	}
	if got := marchUsed(t, db, rules); got != 0 {
		t.Errorf("used %d after a refused file", got)
	}
}

// csvImporter imports into a fresh store with one contract for Acme Corp.
func csvImporter(t *testing.T) (*Importer, *store.DB, *store.Rules) {
	t.Helper()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 1)
	rules := store.NewRules([]*billing.Contract{{ID: "acme-001", Client: "Acme Corp", Unit: billing.UnitHours,
		Terms: billing.Terms{MonthlyHours: 40 * 3600}, Start: &start}})
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	return &Importer{DB: db, Rules: rules, Now: func() time.Time { return now }}, db, rules
}

// marchUsed is the contract's hours used in March 2026, in seconds.
func marchUsed(t *testing.T, db *store.DB, rules *store.Rules) int64 {
	t.Helper()
	v, err := db.Status(context.Background(), rules, billing.NewPeriod(2026, 3), billing.DateOf(2026, 3, 20))
	if err != nil {
		t.Fatal(err)
	}
	return v.Rows[0].Figures.Used
}
