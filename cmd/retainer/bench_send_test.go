package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	mail "github.com/wneessen/go-mail"
	"retainer/notify/notifytest"
)

// BenchmarkCloseSend is `retainer close --month 2026-10 --send` for 10,000
// contracts end to end — the command line, the config of 10,000 contracts
// through its parse cache, the close, and the rendering and delivery of
// every statement email (text, HTML, the PNG chart, the PDF invoice) to
// an in-process go-smtp sink over notify.email — against the reference:
// go-mail sending as many messages of the same size over one connection to
// the same kind of sink. Each iteration is one interleaved pair (reference,
// then ours, each on a fresh sink and ours on a fresh database); it
// reports both sides' median messages/s and the min and median of the
// pairs' ratios (ours / reference: 1 is one connection's limit). The
// machine is shared and noisy: compare the ratios. Run with
//
//	go test ./cmd/retainer -run '^$' -bench CloseSend -benchtime 3x -timeout 60m
//
// and RETAINER_BENCH_SEND_N=1000 (say) for a quick run with fewer contracts.
func BenchmarkCloseSend(b *testing.B) {
	n := 10000
	if v := os.Getenv("RETAINER_BENCH_SEND_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("RETAINER_BENCH_SEND_N=%q: want a positive number", v)
		}
	}
	dir := b.TempDir()
	db := filepath.Join(dir, "retainer.db")
	var sb strings.Builder
	fmt.Fprintf(&sb, "timezone: UTC\ncurrency: USD\ndatabase: %s\nagency:\n  name: Northwind Studio\n"+
		"  address: \"12 Harbour Lane\\nBristol BS1 4DJ\"\n  tax_id: GB 123 4567 89\n"+
		"schedule:\n  dispatch: \"\"\nnotify:\n  file:\n    dir: %s\ncontracts:\n", db, filepath.Join(dir, "outbox"))
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  c%05d:\n    client: Client %05d\n    contacts: [ap%d@client.example]\n    monthly_hours: 40\n"+
			"    monthly_fee: 5000\n    overage_rate: 175\n    rollover_hours: true\n    max_rollover: 10\n    start: 2026-10\n", i, i, i)
	}
	config := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(config, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	// One sink for ours, whose address stays the same (the environment
	// is part of the parse cache's key); it is reset before each run.
	ourSink := startSink(b)
	environ := []string{"RETAINER_CONFIG=" + config, "XDG_CACHE_HOME=" + filepath.Join(dir, ".cache"),
		"RETAINER_NOTIFY__EMAIL__HOST=127.0.0.1", "RETAINER_NOTIFY__EMAIL__PORT=" + strconv.Itoa(ourSink.port),
		"RETAINER_NOTIFY__EMAIL__TLS=none", "RETAINER_NOTIFY__EMAIL__FROM=Northwind Studio <billing@northwind.example>"}
	now := time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)
	a := &invocation{stdout: io.Discard, stderr: os.Stderr, environ: environ,
		now: func() time.Time { return now }, wall: time.Now}
	// Warm the parse cache (and check the config) once.
	if code := a.run(context.Background(), []string{"check"}); code != 0 {
		b.Fatalf("check: exit %d", code)
	}

	ours := func() (rate float64, size int) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
		}
		ourSink.reset()
		el := elapsed(func() {
			if code := a.run(context.Background(), []string{"close", "--month", "2026-10", "--send"}); code != 0 {
				b.Fatalf("close --send: exit %d", code)
			}
		})
		msgs, total := ourSink.counts()
		if msgs != n {
			b.Fatalf("the sink got %d messages, want %d", msgs, n)
		}
		return float64(n) / el.Seconds(), total / msgs
	}
	ref := func(size int) float64 {
		sink := startSink(b)
		msgs := referenceMessages(b, n, size)
		c, err := mail.NewClient("127.0.0.1", mail.WithPort(sink.port), mail.WithTLSPolicy(mail.NoTLS))
		if err != nil {
			b.Fatal(err)
		}
		el := elapsed(func() {
			if err := c.DialAndSend(msgs...); err != nil {
				b.Fatal(err)
			}
		})
		if got, _ := sink.counts(); got != n {
			b.Fatalf("reference: the sink got %d messages, want %d", got, n)
		}
		return float64(n) / el.Seconds()
	}

	// A first run of ours gives the size of its messages, which the
	// reference's take.
	_, size := ours()
	var refs, ourRates, ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := ref(size)
		o, _ := ours()
		refs, ourRates, ratios = append(refs, r), append(ourRates, o), append(ratios, o/r)
		b.Logf("pair %d: reference %.0f messages/s, close --send %.0f messages/s, ratio %.3f", i+1, r, o, o/r)
	}
	b.StopTimer()
	b.ReportMetric(sendMedian(refs), "ref-msg/s")
	b.ReportMetric(sendMedian(ourRates), "ours-msg/s")
	b.ReportMetric(slices.Min(ratios), "min-ratio")
	b.ReportMetric(sendMedian(ratios), "median-ratio")
	b.ReportMetric(float64(size), "bytes/msg")
	b.ReportMetric(0, "ns/op") // a pair's time says nothing by itself
}

// referenceMessages are n messages of about size bytes each as sent: a
// text part and an attachment of the rest.
func referenceMessages(b *testing.B, n, size int) []*mail.Msg {
	attach := bytes.Repeat([]byte("retainer statement reference bytes\n"), max(size*3/4-1500, 0)/35+1)
	msgs := make([]*mail.Msg, n)
	for i := range msgs {
		m := mail.NewMsg()
		if err := m.From("billing@northwind.example"); err != nil {
			b.Fatal(err)
		}
		if err := m.To(fmt.Sprintf("ap%d@client.example", i)); err != nil {
			b.Fatal(err)
		}
		m.Subject(fmt.Sprintf("Statement c%05d-2026-10", i))
		m.SetBodyString(mail.TypeTextPlain, "Your statement for October 2026 is attached.\n")
		if err := m.AttachReader("invoice.pdf", bytes.NewReader(attach)); err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
	}
	return msgs
}

func sendMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// sendSink is an SMTP server on 127.0.0.1 that takes every message and
// keeps only how many it got and their bytes.
type sendSink struct {
	port int

	mu    sync.Mutex
	msgs  int
	bytes int
}

func startSink(b *testing.B) *sendSink {
	s := &sendSink{}
	s.port = notifytest.ServeSMTP(b, s, func(srv *gosmtp.Server) {
		srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	})
	return s
}

func (s *sendSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs, s.bytes = 0, 0
}

func (s *sendSink) counts() (msgs, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs, s.bytes
}

func (s *sendSink) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return sinkSession{s}, nil }

type sinkSession struct{ s *sendSink }

func (sinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (sinkSession) Reset()                                 {}
func (sinkSession) Logout() error                          { return nil }

func (ss sinkSession) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs++
	ss.s.bytes += int(n)
	ss.s.mu.Unlock()
	return nil
}
