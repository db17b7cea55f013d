package timesheet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/store/storetest"
)

// d is short because the fixture tables below call it on every row.
var d = storetest.Date

func collect(t *testing.T, r *bytes.Reader, opts Options) (Summary, []Entry, error) {
	t.Helper()
	var got []Entry
	sum, err := Parse(r, opts, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	return sum, got, err
}

func open(t testing.TB, name string) *bytes.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file    string
		opts    Options
		format  Format
		running int
		breaks  int
		want    []Entry
	}{
		{
			file: "harvest_detailed.csv", format: Harvest,
			want: []Entry{
				{Line: 2, Date: d("2026-03-02"), Seconds: 4320, Client: "Acme Corp", Project: "Website Retainer", ProjectCode: "ACME-01", Task: "Development", Notes: "Fixed header, footer", User: "Ada Lovelace", Billable: true},
				{Line: 3, Date: d("2026-03-02"), Seconds: 1800, Client: "Acme Corp", Project: "Website Retainer", ProjectCode: "ACME-01", Task: "Meetings", Notes: "Call with client\nagreed scope", User: "Grace Hopper", Billable: true},
				{Line: 5, Date: d("2026-03-03"), Seconds: 900, Client: "Acme Corp", Project: "Internal", Task: "Admin", User: "Ada Lovelace", Billable: false},
				{Line: 6, Date: d("2026-03-04"), Seconds: 8400, Client: "Smith & Sons, Ltd.", Project: `Brand "Refresh"`, ProjectCode: "SS-2", Task: "Design", Notes: `He said "ship it"`, User: "Linus", Billable: true},
				{Line: 7, Date: d("2026-03-31"), Seconds: 444600, Client: "Acme Corp", Project: "Website Retainer", ProjectCode: "ACME-01", Task: "Development", User: "Ada Lovelace", Billable: true},
			},
		},
		{
			file: "harvest_eu.csv", format: Harvest,
			want: []Entry{
				{Line: 2, Date: d("2026-03-25"), Seconds: 5400, Client: "Müller GmbH", Project: "Relaunch", ProjectCode: "MG-7", Task: "Design", Notes: "Entwurf; Variante 2", User: "Jürgen Weiß", Billable: true},
				{Line: 3, Date: d("2026-04-02"), Seconds: 2700, Client: "Müller GmbH", Project: "Relaunch", ProjectCode: "MG-7", Task: "Design", User: "Jürgen Weiß", Billable: false},
				{Line: 4, Date: d("2026-04-03"), Seconds: 360900, Client: "Müller GmbH", Project: "Relaunch", ProjectCode: "MG-7", Task: "Support", Notes: "Monatspauschale", User: "Jürgen Weiß", Billable: true},
			},
		},
		{
			file: "toggl_detailed.csv", format: Toggl, running: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-02"), Seconds: 900, Client: "Acme Corp", Project: "Website", Notes: "Standup, daily", User: "Ada Lovelace", Billable: true},
				{Line: 3, Date: d("2026-03-02"), Seconds: 6300, Client: "Acme Corp", Project: "Website", Task: "Deploy", Notes: "Late release", User: "Ada Lovelace", Billable: true},
				{Line: 4, Date: d("2026-03-06"), Seconds: 93600, Client: "Acme Corp", Project: "Migration", Notes: "Data migration weekend", User: "Grace Hopper", Billable: true},
				{Line: 6, Date: d("2026-03-09"), Seconds: 1800, Project: "Internal", Notes: "Reading\nnotes", User: "Ada Lovelace", Billable: false},
				{Line: 8, Date: d("2026-03-10"), Seconds: 3000, Client: "Beta LLC", Project: "App", Notes: "Pairing", User: "bob@example.com", Billable: true},
			},
		},
		{
			file: "toggl_new.csv", format: Toggl, running: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-04"), Seconds: 5400, Client: "Acme Corp", Project: "Website", Notes: "Kick-off", User: "Ada Lovelace", Billable: true},
				{Line: 3, Date: d("2026-03-14"), Seconds: 1800, Client: "Acme Corp", Project: "Website", Notes: "Review", User: "Ada Lovelace", Billable: false},
			},
		},
		{
			file: "clockify_detailed.csv", format: Clockify, running: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-16"), Seconds: 9000, Client: "Acme Corp", Project: "Website", Task: "Design", Notes: "Homepage, hero", User: "Ada Lovelace", Billable: true},
				{Line: 3, Date: d("2026-03-16"), Seconds: 4500, Client: "Acme Corp", Project: "Website", Task: "Development", Notes: "Hotfix", User: "Ada Lovelace", Billable: true},
				{Line: 4, Date: d("2026-03-17"), Seconds: 2700, Client: "Acme Corp", Project: "Website", Notes: "Email triage", User: "Grace Hopper", Billable: true},
				{Line: 5, Date: d("2026-03-18"), Seconds: 3600, Project: "Internal", Notes: "Team lunch", User: "Grace Hopper", Billable: false},
				{Line: 7, Date: d("2026-03-19"), Seconds: 1201, Client: "Acme Corp", Project: "Website", Notes: "Odd seconds", User: "Ada Lovelace", Billable: true},
			},
		},
		{
			file: "clockify_ptbr.csv", format: Clockify, running: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-25"), Seconds: 5400, Client: "Padaria Pão Quente", Project: "Site", Task: "Design", Notes: "Ajustes; rodapé", User: "João Silva", Billable: true},
				{Line: 3, Date: d("2026-04-02"), Seconds: 2700, Client: "Padaria Pão Quente", Project: "Site", Notes: "Reunião\nde alinhamento", User: "João Silva", Billable: false},
			},
		},
		{
			// Header from a real German export (see clockify.go), dotted dates.
			file: "clockify_de.csv", format: Clockify, running: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-16"), Seconds: 5400, Client: "Müller GmbH", Project: "Relaunch", Task: "Design", Notes: "Startseite, Entwurf", User: "Jürgen Weiß", Billable: true},
				{Line: 3, Date: d("2026-03-16"), Seconds: 5400, Client: "Müller GmbH", Project: "Relaunch", Task: "Entwicklung", Notes: "Nachtschicht", User: "Jürgen Weiß", Billable: true},
				{Line: 4, Date: d("2026-03-18"), Seconds: 1201, Project: "Intern", Notes: "Buchhaltung", User: "Anna Keller", Billable: false},
			},
		},
		{
			// Header of a real Spanish export (see clockify.go), with its
			// English "Date of creation" and a custom field; the first date
			// is ambiguous, the second decides day-first.
			file: "clockify_es.csv", format: Clockify,
			want: []Entry{
				{Line: 2, Date: d("2026-10-02"), Seconds: 6300, Client: "Banco Ejemplo", Project: "Sitio web", Notes: "Correos, chats", User: "Ana Gómez", Billable: true},
				{Line: 3, Date: d("2026-09-29"), Seconds: 1800, Client: "Banco Ejemplo", Project: "Sitio web", Task: "Diseño", Notes: "Revisión", User: "Ana Gómez", Billable: false},
			},
		},
		{
			file: "clockify_breaks.csv", format: Clockify, breaks: 1,
			want: []Entry{
				{Line: 2, Date: d("2026-03-16"), Seconds: 5400, Client: "Acme Corp", Project: "Website", Notes: "Homepage", User: "Ada Lovelace", Billable: true},
			},
		},
		{
			file: "generic.csv", format: Generic,
			want: []Entry{
				{Line: 2, Date: d("2026-03-02"), Seconds: 5400, Client: "Acme Corp", Project: "Website", Notes: "First", User: "ada", Billable: true, ExternalID: "A-1"},
				{Line: 3, Date: d("2026-03-03"), Seconds: 6300, Client: "Acme Corp", Project: "Website", Notes: "Second, with comma", User: "ada", Billable: false, ExternalID: "A-2"},
				{Line: 4, Date: d("2026-03-04"), Seconds: 360, Notes: "No client at all", Billable: true, ExternalID: "A-3"},
				{Line: 5, Date: d("2026-03-05"), Seconds: 0, Client: "Beta LLC", Billable: false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sum, got, err := collect(t, open(t, tt.file), tt.opts)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(sum.Errors) > 0 {
				t.Fatalf("row errors: %v", sum.Errors)
			}
			if sum.Format != tt.format {
				t.Errorf("format = %q, want %q", sum.Format, tt.format)
			}
			if sum.Running != tt.running {
				t.Errorf("running = %d, want %d", sum.Running, tt.running)
			}
			if sum.Breaks != tt.breaks {
				t.Errorf("breaks = %d, want %d", sum.Breaks, tt.breaks)
			}
			if sum.Rows != len(tt.want) {
				t.Errorf("rows = %d, want %d", sum.Rows, len(tt.want))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(got), len(tt.want), got)
			}
			first, last := tt.want[0].Date, tt.want[0].Date
			for i := range got {
				if got[i].Format != sum.Format {
					t.Errorf("entry %d: format %q, want the file's %q", i, got[i].Format, sum.Format)
				}
				got[i].Format = ""
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
				first, last = min(first, tt.want[i].Date), max(last, tt.want[i].Date)
			}
			if sum.First != first || sum.Last != last {
				t.Errorf("range = %s..%s, want %s..%s", sum.First, sum.Last, first, last)
			}
		})
	}
}

func TestBadRowsListedAndNothingEmitted(t *testing.T) {
	called := false
	sum, err := Parse(open(t, "harvest_bad.csv"), Options{}, func(Entry) error {
		called = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("fn called for a file with bad rows")
	}
	want := []RowError{
		{Line: 4, Reason: `bad date "2026-02-30"`},
		{Line: 5, Reason: `negative duration "-1.5"`},
		{Line: 9, Reason: `unparsable duration "abc"`},
	}
	if !reflect.DeepEqual(sum.Errors, want) {
		t.Errorf("errors = %v\nwant %v", sum.Errors, want)
	}
}

func parseString(t *testing.T, s string, opts Options) (Summary, []Entry, error) {
	t.Helper()
	return collect(t, bytes.NewReader([]byte(s)), opts)
}

func TestRowReasons(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []RowError
	}{
		{"missing date", "date,client,hours\n,Acme,1\n", []RowError{{2, "missing column value: date"}}},
		{"missing hours", "Date,Client,Hours,Billable?\n2026-03-01,Acme,,Yes\n", []RowError{{2, "missing column value: Hours"}}},
		{"negative clock", "date,client,hours\n2026-03-01,Acme,-1:00\n", []RowError{{2, `negative duration "-1:00"`}}},
		{"bad clock", "date,client,hours\n2026-03-01,Acme,1:75\n", []RowError{{2, `unparsable duration "1:75"`}}},
		{"bad billable", "date,client,hours,billable\n2026-03-01,Acme,1,maybe\n", []RowError{{2, `bad billable value "maybe"`}}},
		{"bad time", "Start date,Start time,End time,Duration\n2026-03-01,25:00:00,26:00:00,01:00:00\n", []RowError{{2, `bad time "25:00:00"`}}},
		{"both over 12", "date,client,hours\n13/14/2026,Acme,1\n", []RowError{{2, `bad date "13/14/2026"`}}},
		{"malformed quote", "date,client,hours\n2026-03-01,\"Acme,1\n", []RowError{{2, "malformed CSV: extraneous or missing \" in quoted-field"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, got, err := parseString(t, tt.csv, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("emitted %v", got)
			}
			if !reflect.DeepEqual(sum.Errors, tt.want) {
				t.Errorf("errors = %v, want %v", sum.Errors, tt.want)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	_, _, err := parseString(t, "Foo,Bar,Baz\n1,2,3\n", Options{})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"harvest", "toggl", "clockify", "generic"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("message %q does not name %s", err, f)
		}
	}
	// A forced format whose columns are missing is refused the same way.
	if _, _, err := parseString(t, "date,client,hours\n2026-03-01,A,1\n", Options{Format: Toggl}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("forced toggl: err = %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, s := range []string{"", "\ufeff", "\r\n\n"} {
		if _, _, err := parseString(t, s, Options{}); !errors.Is(err, ErrEmptyFile) {
			t.Errorf("%q: err = %v", s, err)
		}
	}
	sum, _, err := parseString(t, "date,client,hours\r\n", Options{})
	if err != nil || sum.Rows != 0 || sum.Format != Generic {
		t.Errorf("header only: %+v %v", sum, err)
	}
}

func TestDateOrder(t *testing.T) {
	const undecidable = "date,client,hours\n03/04/2026,Acme,1\n05/06/26,Acme,2\n"
	_, _, err := parseString(t, undecidable, Options{})
	if !errors.Is(err, ErrDateOrder) || !strings.Contains(err.Error(), "set import.date_order to mdy or dmy") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
	_, got, err := parseString(t, undecidable, Options{DateOrder: "dmy"})
	if err != nil || len(got) != 2 || got[0].Date != d("2026-04-03") || got[1].Date != d("2026-06-05") {
		t.Errorf("dmy: %v %+v", err, got)
	}
	_, got, err = parseString(t, undecidable, Options{DateOrder: "mdy"})
	if err != nil || len(got) != 2 || got[0].Date != d("2026-03-04") || got[1].Date != d("2026-05-06") {
		t.Errorf("mdy: %v %+v", err, got)
	}
	// The file decides over the setting: a day over 12 on a later line.
	_, got, err = parseString(t, "date,client,hours\n03/04/2026,Acme,1\n25-04-2026,Acme,1\n", Options{DateOrder: "mdy"})
	if err != nil || len(got) != 2 || got[0].Date != d("2026-04-03") || got[1].Date != d("2026-04-25") {
		t.Errorf("file decides: %v %+v", err, got)
	}
	// Same day and month reads the same either way: nothing to decide.
	if _, _, err := parseString(t, "date,client,hours\n04/04/2026,Acme,1\n", Options{}); err != nil {
		t.Errorf("04/04: %v", err)
	}
	// Contradiction.
	called := false
	_, err = Parse(bytes.NewReader([]byte("date,client,hours\n13/04/2026,Acme,1\n04/13/2026,Acme,1\n")), Options{DateOrder: "dmy"},
		func(Entry) error { called = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "contradict") || called {
		t.Errorf("contradiction: err = %v, called = %v", err, called)
	}
}

func TestMidnightAndTimezone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	const csv = "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags,Amount ()\r\n" +
		"A,a@x,Acme,P,,late,Yes,2026-03-01,23:30:00,2026-03-02,00:30:00,01:00:00,,\r\n" +
		"A,a@x,Acme,P,,early,Yes,2026-03-01,02:00:00,2026-03-01,03:00:00,01:00:00,,\r\n"
	_, got, err := parseString(t, csv, Options{})
	if err != nil || len(got) != 2 || got[0].Date != d("2026-03-01") || got[1].Date != d("2026-03-01") {
		t.Fatalf("UTC: %v %+v", err, got)
	}
	_, got, err = parseString(t, csv, Options{Location: time.UTC, Agency: ny})
	if err != nil || len(got) != 2 {
		t.Fatalf("NY: %v %+v", err, got)
	}
	if got[0].Date != d("2026-03-01") || got[1].Date != d("2026-02-28") {
		t.Errorf("NY dates = %s, %s; want 2026-03-01, 2026-02-28", got[0].Date, got[1].Date)
	}
	// Location alone: the start is in that zone and the agency defaults to it.
	_, got, err = parseString(t, csv, Options{Location: ny})
	if err != nil || got[1].Date != d("2026-03-01") {
		t.Errorf("Location only: %v %+v", err, got)
	}
}

func TestFnErrorStops(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	_, err := Parse(open(t, "generic.csv"), Options{}, func(Entry) error {
		n++
		return boom
	})
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("err = %v after %d calls", err, n)
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in     string
		secs   int64
		reason string
	}{
		{"1.5", 5400, ""}, {"1,5", 5400, ""}, {"1.234,5", 4444200, ""}, {"1,234.5", 4444200, ""},
		{"1 234,5", 4444200, ""}, {"0.0001389", 1, ""}, {".5", 1800, ""}, {"2", 7200, ""},
		{"30:00:00", 108000, ""}, {"0:45", 2700, ""}, {"100:00", 360000, ""}, {"-0:00", 0, ""},
		{"-2", 0, `negative duration "-2"`}, {"abc", 0, `unparsable duration "abc"`},
		{"1.2.3,4", 0, `unparsable duration "1.2.3,4"`}, {"1:2", 0, `unparsable duration "1:2"`},
		{"12,34,5", 0, `unparsable duration "12,34,5"`}, {"1e3", 0, `unparsable duration "1e3"`},
		// Toggl's minutes form: 47 min 6 s, not 47 h 6 min.
		{"47:06 min", 2826, ""}, {"0:59 min", 59, ""}, {"00:00 min", 0, ""}, {"75:30 min", 4530, ""},
		{" 47:06 min ", 2826, ""}, {"47:06min", 2826, ""}, {"-47:06 min", 0, `negative duration "-47:06 min"`},
		{"47:60 min", 0, `unparsable duration "47:60 min"`}, {"47:6 min", 0, `unparsable duration "47:6 min"`},
		{"1:02:03 min", 0, `unparsable duration "1:02:03 min"`}, {"47 min", 0, `unparsable duration "47 min"`},
		{"min", 0, `unparsable duration "min"`}, {":06 min", 0, `unparsable duration ":06 min"`},
		{"1,5 min", 0, `unparsable duration "1,5 min"`},
		// Every other form is read as before.
		{"47:06", 169560, ""}, {"0:47:06", 2826, ""},
	}
	for _, tt := range tests {
		secs, reason := parseDuration(tt.in)
		if secs != tt.secs || reason != tt.reason {
			t.Errorf("parseDuration(%q) = %d, %q; want %d, %q", tt.in, secs, reason, tt.secs, tt.reason)
		}
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		in   string
		secs int
		ok   bool
	}{
		{"09:00", 9 * 3600, true}, {"23:59:59", 86399, true}, {"12:05 AM", 300, true}, {"12:00 PM", 43200, true},
		{"1:15 pm", 13*3600 + 900, true}, {"11:30:15 PM", 23*3600 + 1800 + 15, true},
		{"24:00", 0, false}, {"13:00 PM", 0, false}, {"9", 0, false}, {"9:5", 0, false},
	}
	for _, tt := range tests {
		secs, ok := parseClock(tt.in)
		if secs != tt.secs || ok != tt.ok {
			t.Errorf("parseClock(%q) = %d, %v", tt.in, secs, ok)
		}
	}
}

func TestForcedFormat(t *testing.T) {
	// A Harvest header read as generic: date, client and hours by name.
	const csv = "Date,Client,Project,Hours,Hours Rounded,Billable?\n2026-03-01,Acme,Web,1.5,2,No\n"
	sum, got, err := parseString(t, csv, Options{Format: Generic})
	if err != nil || sum.Format != Generic || len(got) != 1 || got[0].Seconds != 5400 || !got[0].Billable {
		t.Errorf("%v %+v %+v", err, sum, got)
	}
	sum, got, err = parseString(t, csv, Options{})
	if err != nil || sum.Format != Harvest || len(got) != 1 || got[0].Billable {
		t.Errorf("%v %+v %+v", err, sum, got)
	}
}

type failingSeeker struct{ *bytes.Reader }

func (failingSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("not seekable") }

func TestSeekError(t *testing.T) {
	_, err := Parse(failingSeeker{bytes.NewReader([]byte("date,client,hours\n"))}, Options{}, func(Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not seekable") {
		t.Errorf("err = %v", err)
	}
}
