package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A PDF is not written to a terminal: exit 2 with a hint to redirect it.
func TestStatementPDFRefusesTerminal(t *testing.T) {
	e := newEnv(t)
	_, tty := openPTY(t)
	var errb bytes.Buffer
	a := &invocation{stdout: tty, stderr: &errb, environ: []string{"RETAINER_CONFIG=" + filepath.Join(e.dir, "retainer.yaml")},
		now: func() time.Time { return e.now }}
	code := a.run(context.Background(), []string{"statement", "acme-001", "--month", "2026-10", "--format", "pdf"})
	if code != exitUsage || !strings.Contains(errb.String(), "> acme-001-2026-10.pdf") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
