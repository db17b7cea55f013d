package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const cacheYAML = `timezone: Europe/Paris
agency: {name: Northwind}
contracts:
  acme-001:
    client: Acme Corp
    contacts: [ap@acme.example]
    monthly_hours: 40
    monthly_fee: 5000
    overage_rate: 175
    overage_billable: false
`

// A hit reads the cache, not the file: an entry changed in place (as no
// real load would) shows through, until the file, the environment or the
// entry's key changes.
func TestLoadCachedHitAndInvalidation(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := write(t, dir, "retainer.yaml", cacheYAML)
	first, err := LoadCached(path, nil, cache)
	if err != nil {
		t.Fatal(err)
	}
	if first.Contract("acme-001").OverageBillable {
		t.Fatal("overage_billable: false read as true")
	}
	file := cacheFile(cache, path)
	entry, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no cache entry written: %v", err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("cache entry mode %v, want 0600", fi.Mode().Perm())
	}
	// Rename the client inside the entry: a hit must show it.
	doctored := bytes.Replace(entry, []byte("Acme Corp"), []byte("Cached Co"), 1)
	if bytes.Equal(doctored, entry) {
		t.Fatal("the entry does not hold the client's name")
	}
	if err := os.WriteFile(file, doctored, 0o600); err != nil {
		t.Fatal(err)
	}
	hit, err := LoadCached(path, nil, cache)
	if err != nil || hit.Contract("acme-001").Client != "Cached Co" {
		t.Fatalf("hit: %v, client %q; the cache was not read", err, hit.Contract("acme-001").Client)
	}

	tests := []struct {
		name    string
		change  func()
		environ []string
		check   func(*Config) string
	}{
		{"the environment changes", nil, []string{"RETAINER_TIMEZONE=America/New_York"}, func(c *Config) string {
			if c.Timezone != "America/New_York" || c.Contract("acme-001").Client != "Acme Corp" {
				return c.Timezone + " " + c.Contract("acme-001").Client
			}
			return ""
		}},
		{"an environment variable changes a contract", nil, []string{"RETAINER_CONTRACTS__ACME-001__CLIENT=Acme Env"}, func(c *Config) string {
			if got := c.Contract("acme-001").Client; got != "Acme Env" {
				return got
			}
			return ""
		}},
		{"one byte of the file changes", func() {
			write(t, dir, "retainer.yaml", strings.Replace(cacheYAML, "monthly_hours: 40", "monthly_hours: 41", 1))
		}, nil, func(c *Config) string {
			if k := c.Contract("acme-001"); k.Client != "Acme Corp" || k.Terms.MonthlyHours != 41*3600 {
				return k.Client
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.change != nil {
				tt.change()
			}
			cfg, err := LoadCached(path, tt.environ, cache)
			if err != nil {
				t.Fatal(err)
			}
			if bad := tt.check(cfg); bad != "" {
				t.Errorf("a stale cache entry was used: %s", bad)
			}
		})
	}
}

// An entry that cannot be read — cut short, garbage, another format — is
// a miss: the config is read from the file, and the entry rewritten.
func TestLoadCachedCorruptEntry(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := write(t, dir, "retainer.yaml", cacheYAML)
	want, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCached(path, nil, cache); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(cacheFile(cache, path))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"empty":         nil,
		"cut short":     good[:len(good)/2],
		"key only":      good[:32],
		"top cut":       good[:40],
		"garbage":       bytes.Repeat([]byte{0xff}, 200),
		"contracts cut": good[:len(good)-3],
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(cacheFile(cache, path), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadCached(path, nil, cache)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, %v", got, err)
			}
			if again, _ := os.ReadFile(cacheFile(cache, path)); !bytes.Equal(again, good) {
				t.Error("the entry was not rewritten")
			}
		})
	}
}

// What the cache keeps is the file's: no secret from the environment, no
// invalid config, and no entry at all where the cache cannot be written.
func TestLoadCachedKeepsNoSecretsNorErrors(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := write(t, dir, "retainer.yaml", cacheYAML+"notify:\n  email: {host: smtp.example, from: a@b.example}\n")
	env := []string{"RETAINER_NOTIFY__EMAIL__PASSWORD=hunter2-secret"}
	cfg, err := LoadCached(path, env, cache)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Notify.Email.Password.Reveal() != "hunter2-secret" {
		t.Fatal("the password from the environment was not applied")
	}
	if again, err := LoadCached(path, env, cache); err != nil || again.Notify.Email.Password.Reveal() != "hunter2-secret" {
		t.Fatalf("hit lost the environment's password: %v", err)
	}
	entry, err := os.ReadFile(cacheFile(cache, path))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(entry, []byte("hunter2")) {
		t.Error("the cache entry holds a secret from the environment")
	}

	badPath := write(t, dir, "bad.yaml", strings.Replace(cacheYAML, "monthly_fee: 5000", "monthly_fee: lots", 1))
	for i := 0; i < 2; i++ {
		if _, err := LoadCached(badPath, nil, cache); err == nil || !strings.Contains(err.Error(), "contracts.acme-001.monthly_fee") {
			t.Fatalf("load %d of an invalid config: %v", i, err)
		}
	}
	if _, err := os.Stat(cacheFile(cache, badPath)); !os.IsNotExist(err) {
		t.Errorf("an invalid config was cached: %v", err)
	}

	// A cache directory that cannot be made (a file is in its way).
	blocked := filepath.Join(t.TempDir(), "file")
	write(t, filepath.Dir(blocked), "file", "x")
	if _, err := LoadCached(path, env, filepath.Join(blocked, "cache")); err != nil {
		t.Errorf("an unusable cache directory failed the load: %v", err)
	}
}

// The top level's values survive the cache as the YAML reader made them.
func TestCacheValueRoundTrip(t *testing.T) {
	when := time.Date(2026, 12, 7, 9, 30, 0, 0, time.FixedZone("X", 3600))
	for _, v := range []any{
		nil, true, false, 0, -7, 1 << 40, -1 << 62, uint64(1 << 63), 162.5, "", "héllo", when,
		[]any{}, []any{nil, 1, "a", []any{true}},
		map[string]any{}, map[string]any{"a": map[string]any{"b": []any{1.5, nil}}, "z": ""},
	} {
		b, err := encodeValue(nil, v)
		if err != nil {
			t.Fatalf("encode %#v: %v", v, err)
		}
		got, rest, err := decodeValue(b)
		if err != nil || len(rest) != 0 {
			t.Fatalf("decode %#v: %v (%d left)", v, err, len(rest))
		}
		if tm, ok := v.(time.Time); ok {
			if !tm.Equal(got.(time.Time)) {
				t.Errorf("%v came back as %v", v, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%#v came back as %#v", v, got)
		}
	}
	if _, err := encodeValue(nil, struct{}{}); err == nil {
		t.Error("an unknown type was encoded")
	}
	for i := 0; i < 40; i++ { // every prefix of a valid encoding is refused, never a panic
		b, _ := encodeValue(nil, map[string]any{"a": []any{1, "xyz", 2.5}})
		if i < len(b) {
			if _, rest, err := decodeValue(b[:i]); err == nil && len(rest) == 0 && i != len(b) {
				t.Errorf("prefix %d decoded", i)
			}
		}
	}
	no, empty, hours := false, "", decimal("40")
	docs := map[string]*contractDoc{
		"a": {OverageBillable: &no, Client: &empty, MonthlyHours: &hours, Contacts: []string{}, Terms: []termsDoc{{From: &empty}}},
		"b": {RolloverHours: true, RoundingMinutes: 15, Match: []string{"x", "y"}},
	}
	got, err := decodeDocs(encodeDocs(nil, docs))
	if err != nil || !reflect.DeepEqual(got, docs) {
		t.Errorf("contracts came back as %+v, %v", got, err)
	}
	for i := 0; i < len(encodeDocs(nil, docs)); i++ {
		if _, err := decodeDocs(encodeDocs(nil, docs)[:i]); err == nil {
			t.Errorf("a prefix of %d bytes decoded", i)
		}
	}
}

func TestCacheDir(t *testing.T) {
	for _, tt := range []struct {
		environ []string
		want    string
	}{
		{[]string{"HOME=/home/ann", "XDG_CACHE_HOME=/var/cache/ann"}, "/var/cache/ann/retainer"},
		{[]string{"HOME=/home/ann"}, "/home/ann/.cache/retainer"},
		{[]string{"HOME=/home/ann", "XDG_CACHE_HOME=relative"}, "/home/ann/.cache/retainer"},
		{[]string{"HOME="}, ""},
		{nil, ""},
	} {
		if got := CacheDir(tt.environ); got != tt.want {
			t.Errorf("CacheDir(%q) = %q, want %q", tt.environ, got, tt.want)
		}
	}
}
