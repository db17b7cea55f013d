package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
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
}

// fillValue sets every field v holds, at every depth, to a value that is
// not its zero, different for each field (seed counts them): a field the
// contracts' cache encoding left out would come back zero.
func fillValue(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*seed) * -1_000_003)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillValue(p.Elem(), seed)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillValue(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fillValue(v.Field(i), seed)
		}
	default:
		panic("fillValue: " + v.Type().String())
	}
}

// The contracts come back from the cache as they were built: every field
// of billing.Contract (but TakeOver, which each load sets from go_live),
// nil apart from empty, and every prefix of an entry refused.
func TestCacheContractRoundTrip(t *testing.T) {
	var full billing.Contract
	seed := 0
	fillValue(reflect.ValueOf(&full).Elem(), &seed)
	full.Changes[1].From = billing.NewPeriod(2026, 3) // periods are int32
	full.Start, full.End = new(billing.Period), new(billing.Period)
	*full.Start, *full.End = billing.NewPeriod(2026, 1), billing.NewPeriod(2027, 12)
	full.ExpiresAfter, full.RoundingMinutes, full.PaymentTermsDays, full.AlertClientAt = 3, 15, 30, 120
	full.Changes[0].From = billing.NewPeriod(2026, 2)
	full.TakeOver = nil
	hours := int64(3600)
	cc := &cachedContracts{
		list: []*billing.Contract{&full, {ID: "b", Contacts: []string{}, Match: []string{}, Changes: []billing.TermChange{}},
			{ID: "c", Unit: billing.UnitSessions, Changes: []billing.TermChange{{MonthlyHours: &hours}}}, {}},
		warnings: []string{"contracts.b: no contacts", ""},
	}
	b := appendContracts(nil, cc)
	got, err := readContracts(string(b))
	if err != nil || !reflect.DeepEqual(got, cc) {
		t.Fatalf("contracts came back as %+v, %v\nwant %+v", got, err, cc)
	}
	// Every field counts: a change to any one of them changes the entry.
	for _, c := range []*billing.Contract{&full} {
		v := reflect.ValueOf(c).Elem()
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Name
			if name == "TakeOver" {
				continue
			}
			var other billing.Contract
			seed := 100 * (i + 1)
			fillValue(reflect.ValueOf(&other).Elem(), &seed)
			changed := *c
			reflect.ValueOf(&changed).Elem().Field(i).Set(reflect.ValueOf(other).Field(i))
			if name == "Changes" {
				changed.Changes[0].From, changed.Changes[1].From = 1, 2
			}
			if name == "Start" || name == "End" {
				p := billing.Period(7)
				reflect.ValueOf(&changed).Elem().Field(i).Set(reflect.ValueOf(&p))
			}
			if f := reflect.ValueOf(&changed).Elem().Field(i); f.Kind() == reflect.Bool {
				f.SetBool(!f.Bool())
			}
			if name == "ExpiresAfter" || name == "RoundingMinutes" || name == "PaymentTermsDays" || name == "AlertClientAt" {
				reflect.ValueOf(&changed).Elem().Field(i).SetInt(99)
			}
			if bytes.Equal(appendContracts(nil, &cachedContracts{list: []*billing.Contract{&changed}}),
				appendContracts(nil, &cachedContracts{list: []*billing.Contract{c}})) {
				t.Errorf("billing.Contract.%s is not kept in the config cache", name)
			}
		}
	}
	for i := 0; i < len(b); i++ {
		if _, err := readContracts(string(b[:i])); err == nil {
			t.Errorf("a prefix of %d bytes decoded", i)
		}
	}
	if _, err := readContracts(string(b) + "x"); err == nil {
		t.Error("trailing bytes decoded")
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

// A hit gives the config a fresh load gives, with the contracts taken
// built from the entry: the example, and a config with every kind of
// contract (terms, sessions, own currency, start, end, go_live setting
// TakeOver, warnings, names beyond ASCII) — loaded without the cache,
// through a miss and through a hit, equal in every field and warning.
func TestLoadCachedHitEqualsLoad(t *testing.T) {
	rich := `timezone: Asia/Tokyo
currency: eur
go_live: 2026-04
contracts:
  zeta:
    client: "Zeta 株式会社 — Müller"
    contacts: [a@z.example, "Bob <b@z.example>"]
    match: [zeta, "ZETA web"]
    monthly_hours: 37.5
    monthly_fee: 5000.50
    hourly_rate: 150
    overage_rate: 175.25
    overage_billable: false
    rollover_hours: true
    max_rollover: 10
    rollover_expires_after: 3
    rounding_minutes: 15
    count_non_billable: true
    payment_terms_days: 30
    alert_client_at: 95
    checkin: true
    portal_entries: true
    opening_bank: 4.5
    start: 2026-01
    end: 2027-06
    billing_name: Zeta GmbH
    billing_address: "Hauptstr. 1\n10115 Berlin"
    tax_id: DE123
    tax_rate: 19
    terms:
      - from: 2026-07
        monthly_hours: 40
        overage_rate: 180
      - from: 2026-09
        monthly_fee: 6000
  alpha:
    client: Alpha
    unit: sessions
    monthly_hours: 8
    monthly_fee: 1000
    currency: JPY
    opening_bank: 2
    terms:
      - from: 2026-05
  beta:
    client: Beta
    contacts: []
    monthly_hours: 0
    monthly_fee: 0
    max_rollover: 5
    start: 2026-06
`
	dir := t.TempDir()
	for name, path := range map[string]string{
		"example": filepath.Join("..", "examples", "retainer.yaml"),
		"rich":    write(t, dir, "rich.yaml", rich),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			for _, what := range []string{"miss", "hit", "hit again"} {
				got, err := LoadCached(path, nil, cache)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got.Warnings(), want.Warnings()) {
					t.Fatalf("%s: %+v\nwarnings %q\nwant %+v\nwarnings %q", what, got, got.Warnings(), want, want.Warnings())
				}
				for i, k := range got.Contracts {
					if (k.TakeOver == k.Start) != (want.Contracts[i].TakeOver == want.Contracts[i].Start) {
						t.Errorf("%s: %s: TakeOver shares Start's pointer otherwise than a fresh load", what, k.ID)
					}
				}
			}
			if name == "rich" && len(want.Warnings()) == 0 {
				t.Error("the rich config gives no warnings: the test checks none")
			}
		})
	}
}
