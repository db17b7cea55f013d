package timesheet

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// TestHostileRows: a file with any row outside the bounds — a date outside
// 2000–2100 (year 1 was imported as 1677), an entry longer than a month, a
// NUL byte, text that is not UTF-8 — is refused whole, each such row listed
// with its line and a reason naming the value or column.
func TestHostileRows(t *testing.T) {
	ahead, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name, csv string
		opts      Options
		want      []RowError // reason substrings
	}{
		{"year 1", "date,client,hours\n2026-03-02,Acme,1\n0001-01-01,Acme,1\n", Options{},
			[]RowError{{3, `date "0001-01-01" is outside the years 2000–2100`}}},
		{"year 9000", "date,client,hours\n9000-01-01,Acme,1\n", Options{},
			[]RowError{{2, `date "9000-01-01" is outside the years 2000–2100`}}},
		{"1999 and 2101", "date,client,hours\n1999-12-31,Acme,1\n2101-01-01,Acme,1\n2100-12-31,Acme,1\n", Options{},
			[]RowError{{2, `"1999-12-31" is outside`}, {3, `"2101-01-01" is outside`}}},
		{"dotted year 1", "Date;Client;Hours;Billable?\n01.01.0001;Acme;1;Yes\n", Options{},
			[]RowError{{2, `date "01.01.0001" is outside`}}},
		{"moved out by the agency timezone", "Start date,Start time,End time,Duration\n2000-01-01,00:30:00,01:30:00,01:00:00\n",
			Options{Location: ahead, Agency: time.UTC}, []RowError{{2, "in the agency timezone, outside the years"}}},
		{"745 hours", "date,client,hours\n2026-03-02,Acme,745\n2026-03-03,Acme,744\n", Options{},
			[]RowError{{2, `duration "745": more than a month of hours (744 at most)`}}},
		{"clock over a month", "date,client,hours\n2026-03-02,Acme,9999999:00\n", Options{},
			[]RowError{{2, `duration "9999999:00": more than a month`}}},
		{"thousands of hours", "date,client,hours\n2026-03-02,Acme,\"1,000.5\"\n", Options{},
			[]RowError{{2, "more than a month"}}},
		{"NUL in notes", "date,client,hours,notes\n2026-03-02,Acme,1,\"a\x00b\"\n", Options{},
			[]RowError{{2, `column "notes" contains a NUL byte`}}},
		{"NUL in client", "Date,Client,Hours,Billable?\n2026-03-02,Ac\x00me,1,Yes\n", Options{},
			[]RowError{{2, `column "Client" contains a NUL byte`}}},
		{"Latin-1 client", "date,client,hours\n2026-03-02,Caf\xe9,1\n", Options{},
			[]RowError{{2, `column "client" is not UTF-8 text`}}},
		{"duplicated hours", "date,client,hours,notes,hours\n2026-03-02,Acme,1,x,5\n", Options{},
			[]RowError{{1, `columns 3 ("hours") and 5 ("hours") are the same column`}}},
		{"duplicated Harvest client", "\ufeffDate,Client,Hours,Billable?,Client\n2026-03-02,Acme,1,Yes,Globex\n", Options{},
			[]RowError{{1, `columns 2 ("Client") and 5 ("Client")`}}},
		{"duplicated after blank lines", "\n\ndate,client,HOURS,Hours\n2026-03-02,Acme,1,5\n", Options{},
			[]RowError{{3, `columns 3 ("HOURS") and 4 ("Hours")`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, got, err := parseString(t, tt.csv, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("emitted %d entries from a refused file: %+v", len(got), got)
			}
			if len(sum.Errors) != len(tt.want) {
				t.Fatalf("errors %v, want %v", sum.Errors, tt.want)
			}
			for i, w := range tt.want {
				if e := sum.Errors[i]; e.Line != w.Line || !strings.Contains(e.Reason, w.Reason) {
					t.Errorf("error %d = %d: %s\nwant %d: …%s…", i, e.Line, e.Reason, w.Line, w.Reason)
				}
			}
		})
	}
}

// TestHostileRowsAccepted: what the bounds still take, and names cleaned
// on the way in — a line break or a right-to-left override in a client or
// a user never reaches a Subject; notes keep their line breaks.
func TestHostileRowsAccepted(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []Entry // compared on Line, Date, Seconds, Client, User, Notes, Project
	}{
		{"the range's ends", "date,client,hours\n2000-01-01,Acme,744\n2100-12-31,Acme,0.5\n13/02/00,Acme,1\n", []Entry{
			{Line: 2, Date: d("2000-01-01"), Seconds: 744 * 3600, Client: "Acme"},
			{Line: 3, Date: d("2100-12-31"), Seconds: 1800, Client: "Acme"},
			{Line: 4, Date: d("2000-02-13"), Seconds: 3600, Client: "Acme"},
		}},
		{"names cleaned", "date,client,hours,notes,project,user\n" +
			"2026-03-02,\"Acme\nCorp\",1,\"line one\r\nline two\",\"Web\u202esite\",\"Ada\tLovelace\"\n" +
			"2026-03-03,\"\u202eAcme Corp\u202c\",1,\"tab\there \x1b[1m\",\"\u2066Site\u2069\",\"Grace\u2028Hopper\"\n", []Entry{
			{Line: 2, Date: d("2026-03-02"), Seconds: 3600, Client: "Acme Corp", Notes: "line one\nline two", Project: "Website", User: "Ada Lovelace"},
			{Line: 5, Date: d("2026-03-03"), Seconds: 3600, Client: "Acme Corp", Notes: "tab\there  [1m", Project: "Site", User: "Grace Hopper"},
		}},
		// Lines that end in a bare CR (Excel's "CSV (Macintosh)") were one
		// line: 0 of 2 rows imported, exit 0.
		{"CR line endings", "date,client,hours,notes\r2026-03-02,Acme,1,\"two\rlines\"\r2026-03-03,Acme,2,x\r", []Entry{
			{Line: 2, Date: d("2026-03-02"), Seconds: 3600, Client: "Acme", Notes: "two\nlines"},
			{Line: 4, Date: d("2026-03-03"), Seconds: 7200, Client: "Acme", Notes: "x"},
		}},
		{"CR line endings without a final one", "date,client,hours\r2026-03-02,Acme,1\r2026-03-03,Acme,2", []Entry{
			{Line: 2, Date: d("2026-03-02"), Seconds: 3600, Client: "Acme"},
			{Line: 3, Date: d("2026-03-03"), Seconds: 7200, Client: "Acme"},
		}},
		{"CRLF is not CR", "date,client,hours,notes\r\n2026-03-02,Acme,1,\"a\r\nb\"\r\n2026-03-03,Acme,2,x\r\n", []Entry{
			{Line: 2, Date: d("2026-03-02"), Seconds: 3600, Client: "Acme", Notes: "a\nb"},
			{Line: 4, Date: d("2026-03-03"), Seconds: 7200, Client: "Acme", Notes: "x"},
		}},
		{"an unmapped column twice", "date,client,hours,tags,tags\n2026-03-02,Acme,1,a,b\n", []Entry{
			{Line: 2, Date: d("2026-03-02"), Seconds: 3600, Client: "Acme"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, got, err := parseString(t, tt.csv, Options{})
			if err != nil || len(sum.Errors) > 0 {
				t.Fatalf("err %v, row errors %v", err, sum.Errors)
			}
			if sum.Rows != len(tt.want) || len(got) != len(tt.want) {
				t.Fatalf("%d rows, %d entries; want %d: %+v", sum.Rows, len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				g2 := Entry{Line: g.Line, Date: g.Date, Seconds: g.Seconds, Client: g.Client, Notes: g.Notes, Project: g.Project, User: g.User}
				if !reflect.DeepEqual(g2, w) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, g2, w)
				}
			}
		})
	}
}

// TestHostileTrackerEntries: the tracker APIs' entries meet the same
// bounds: a date outside 2000–2100, more than a month in one entry or a
// NUL byte is an error naming the entry; names are cleaned.
func TestHostileTrackerEntries(t *testing.T) {
	str := func(s string) *string { return &s }
	harvest := func(date, hours, notes, client string) *harvestTimeEntry {
		return &harvestTimeEntry{ID: 7, SpentDate: date, Hours: jsonNumber(hours), Notes: str(notes), Client: &harvestRef{ID: 1, Name: client}}
	}
	for _, tc := range []struct {
		name string
		te   *harvestTimeEntry
		want string // error part; "" = accepted
	}{
		{"ok", harvest("2026-03-02", "1.5", "n", "Acme"), ""},
		{"year 1", harvest("0001-01-01", "1", "", "Acme"), `api-harvest: time entry 7: spent_date: "0001-01-01" is outside the years 2000–2100`},
		{"year 9000", harvest("9000-01-01", "1", "", "Acme"), "outside the years"},
		{"745 hours", harvest("2026-03-02", "745", "", "Acme"), "time entry 7: hours 745: more than a month of hours"},
		{"NUL in notes", harvest("2026-03-02", "1", "a\x00b", "Acme"), "time entry 7: notes contains a NUL byte"},
		{"NUL in client", harvest("2026-03-02", "1", "", "Ac\x00me"), "time entry 7: client contains a NUL byte"},
	} {
		t.Run("harvest "+tc.name, func(t *testing.T) {
			e, err := tc.te.entry()
			if tc.want == "" {
				if err != nil || e.Seconds != 5400 || e.Date != d("2026-03-02") {
					t.Errorf("entry %+v, %v", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want …%s…", err, tc.want)
			}
		})
	}
	e, err := harvest("2026-03-02", "1", "one\r\ntwo", "Acme\nCorp\u202e").entry()
	if err != nil || e.Client != "Acme Corp" || e.Notes != "one\ntwo" {
		t.Errorf("harvest names: %q %q, %v", e.Client, e.Notes, err)
	}

	client := int64(401)
	api := &TogglAPI{names: &togglNames{projects: map[int64]togglProject{1: {ID: 1, Name: "Web", ClientID: &client}},
		clients: map[int64]string{401: "Acme\u2067 Corp\n"}}}
	toggl := func(start string, secs int64, desc string) *togglRow {
		r := &togglRow{ProjectID: &[]int64{1}[0], Description: str(desc)}
		r.TimeEntries = append(r.TimeEntries, struct {
			ID      int64   `json:"id"`
			Seconds int64   `json:"seconds"`
			Start   string  `json:"start"`
			Stop    *string `json:"stop"`
			At      string  `json:"at"`
		}{ID: 9, Seconds: secs, Start: start, Stop: str(start)})
		return r
	}
	for _, tc := range []struct {
		name string
		row  *togglRow
		want string
	}{
		{"ok", toggl("2026-03-02T10:00:00Z", 3600, "x"), ""},
		{"year 1", toggl("0001-01-01T10:00:00Z", 3600, ""), `api-toggl: time entry 9: start "0001-01-01T10:00:00Z": 0001-01-01 is outside the years 2000–2100`},
		{"2101 in the agency timezone", toggl("2100-12-31T23:30:00-05:00", 3600, ""), "2101-01-01 is outside"},
		{"a month and a second", toggl("2026-03-02T10:00:00Z", billing.MaxEntrySeconds+1, ""), "time entry 9: seconds 2678401: more than a month of hours"},
		{"NUL", toggl("2026-03-02T10:00:00Z", 60, "\x00"), "time entry 9: notes contains a NUL byte"},
	} {
		t.Run("toggl "+tc.name, func(t *testing.T) {
			var e Entry
			err := api.row(context.Background(), nil, tc.row, d("2000-01-01"), d("2100-12-31"), time.UTC, func(got Entry) error {
				e = got
				return nil
			})
			if tc.want == "" {
				if err != nil || e.Client != "Acme Corp" || e.Date != d("2026-03-02") {
					t.Errorf("entry %+v, %v", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want …%s…", err, tc.want)
			}
		})
	}
	if !errors.Is(billing.CheckDate(billing.DateOf(2101, 1, 1)), billing.ErrOutOfRange) {
		t.Error("CheckDate(2101-01-01) is nil")
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }
