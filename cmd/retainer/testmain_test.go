package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points the config parse cache of every command and daemon the
// tests start (they inherit this process's environment) at a directory of
// the test run, removed at its end, not at the user's ~/.cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "retainer-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
