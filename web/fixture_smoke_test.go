package web

import "testing"

func TestFixtureServes(t *testing.T) {
	f := newFixture(t)
	resp, err := f.client().Get(f.srv.URL + "/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("static: %d %v", resp.StatusCode, resp.Header)
	}
}
