package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"retainer/store"
)

// The store's tests run against SQLite, and again against PostgreSQL when
// RETAINER_TEST_POSTGRES_URL names a server (.ci/run sets it to this
// machine's): TestMain runs the same test binary a second time with
// RETAINER_TEST_BACKEND=postgres, and dsn gives each test a fresh schema.

const (
	postgresURLEnv = "RETAINER_TEST_POSTGRES_URL"
	backendEnv     = "RETAINER_TEST_BACKEND"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Benchmarks pick their backends themselves (see backends in bench_test.go).
	benchmarking := flag.Lookup("test.bench").Value.String() != ""
	code := m.Run()
	if os.Getenv(backendEnv) == "" && !benchmarking {
		if u := os.Getenv(postgresURLEnv); u != "" {
			fmt.Println("--- the store's tests again, on PostgreSQL")
			var args []string
			for _, a := range os.Args[1:] {
				if !strings.HasPrefix(a, "-test.testlogfile") { // go test's cache log is the parent's
					args = append(args, a)
				}
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), backendEnv+"=postgres")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Println("FAIL on PostgreSQL:", err)
				code = 1
			}
		} else {
			fmt.Printf("(the store's tests ran on SQLite only: set %s, e.g. postgres://postgres@127.0.0.1:5432/test, to run them on PostgreSQL too)\n", postgresURLEnv)
		}
	}
	os.Exit(code)
}

// onPostgres reports whether this run of the tests is the PostgreSQL one.
func onPostgres() bool { return os.Getenv(backendEnv) == "postgres" }

// dsn returns a database for one test on this run's backend.
func dsn(t testing.TB) string { return store.TestingDSN(t, onPostgres()) }

func openDSN(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBackend: the run is on the backend it says.
func TestBackend(t *testing.T) {
	db := openDSN(t, dsn(t))
	defer db.Close()
	if db.Postgres() != onPostgres() {
		t.Fatalf("Postgres() = %v on the %q run", db.Postgres(), os.Getenv(backendEnv))
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
