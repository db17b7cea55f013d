package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/store"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	const ttl = 12 * time.Hour

	id, csrf, err := db.CreateSession(ctx, t0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"id": id, "csrf": csrf} {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("%s %q: want 32 random bytes as base64url (%v)", name, tok, err)
		}
	}
	if id == csrf {
		t.Fatal("the session id doubles as its CSRF token")
	}
	id2, csrf2, err := db.CreateSession(ctx, t0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id || csrf2 == csrf {
		t.Fatal("two sessions share an id or a token")
	}

	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
		want string // "" = ErrNotFound
	}{
		{"fresh", id, t0, csrf},
		{"the other session", id2, t0.Add(time.Hour), csrf2},
		{"a second before expiry", id, t0.Add(ttl - time.Second), csrf},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", t0, ""},
		{"empty", "", t0, ""},
		{"the stored hash is not an id", sessionSHA(id), t0, ""},
		{"too long", strings.Repeat("a", 1000), t0, ""},
	} {
		got, err := db.Session(ctx, tc.id, tc.at)
		if tc.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: got %q, %v; want ErrNotFound", tc.name, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}

	// Only hashes are stored: the table holds SHA-256 hex, and the id
	// appears nowhere in the database files.
	if onPostgres() {
		return // the check reads the SQLite files
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hashes := map[string]bool{}
	rows, err := raw.QueryContext(ctx, `SELECT id_hash, csrf, created_at, expires_at FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h, c string
		var created, expires int64
		if err := rows.Scan(&h, &c, &created, &expires); err != nil {
			t.Fatal(err)
		}
		hashes[h] = true
		if created != t0.Unix() || expires != t0.Add(ttl).Unix() {
			t.Errorf("row %s: created %d expires %d", h, created, expires)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(hashes) != 2 || !hashes[sessionSHA(id)] || !hashes[sessionSHA(id2)] {
		t.Fatalf("stored %v, want the SHA-256 of both ids", hashes)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), id) || strings.Contains(string(b), id2) {
			t.Fatalf("%s holds a session id in clear", filepath.Base(f))
		}
	}

	// Expiry: at the expiry second the session is gone, and its row is
	// deleted by the lookup.
	if _, err := db.Session(ctx, id, t0.Add(ttl)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if n := db.CountRows(t, "sessions"); n != 1 {
		t.Fatalf("%d sessions after an expired lookup, want 1", n)
	}

	// Delete ends a session; deleting again (or an unknown id) is not an
	// error.
	if err := db.DeleteSession(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, id2, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	if err := db.DeleteSession(ctx, id2); err != nil {
		t.Fatal(err)
	}

	// Creating a session prunes the expired ones.
	if _, _, err := db.CreateSession(ctx, t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateSession(ctx, t0, ttl); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateSession(ctx, t0.Add(2*time.Hour), ttl); err != nil {
		t.Fatal(err)
	}
	if n := db.CountRows(t, "sessions"); n != 2 {
		t.Fatalf("%d sessions, want 2 (the hour-long one pruned)", n)
	}

	if _, _, err := db.CreateSession(ctx, t0, 0); err == nil {
		t.Fatal("a session with no lifetime was created")
	}
}

func sessionSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
