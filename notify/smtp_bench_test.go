package notify

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	mail "github.com/wneessen/go-mail"

	"retainer/notify/notifytest"
)

// BenchmarkSMTPSerialSend measures the send loop alone: n statement-sized
// messages (text, HTML, a 20 KB chart, a 45 KB PDF: about 90 KB as sent)
// over one connection to an in-process go-smtp sink, against the
// reference, go-mail's DialAndSend of the same messages built. Each
// iteration is one interleaved triple: the reference; SendBatch of the
// messages prepared beforehand, as the dispatcher's render workers
// prepare them ("prepared"); SendBatch preparing each in its turn
// ("in-loop", a send without the dispatcher). It reports the median and
// min ratios of messages/s (ours / reference) and what Prepare costs a
// message, off the loop. Run with
//
//	go test ./notify -run '^$' -bench SMTPSerialSend -benchtime 5x
func BenchmarkSMTPSerialSend(b *testing.B) {
	const n = 500
	rng := rand.New(rand.NewPCG(1, 2))
	blob := func(size int) []byte {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		return p
	}
	chart, pdf := blob(20<<10), blob(45<<10)
	ms := make([]*Message, n)
	for i := range ms {
		m := testMessage(fmt.Sprintf("statement/c%05d/2026-10", i))
		m.To = []string{fmt.Sprintf("ap%d@client.example", i)}
		m.Text = "Your statement for October 2026.\n\nHours used: 42.50 of 40.00\nOverage: 2.50 h at 175.00\n"
		m.HTML = "<html><body><p>Your statement for October 2026.</p><table><tr><td>Hours used</td><td>42.50</td></tr></table>" +
			`<img src="cid:burndown@retainer"></body></html>`
		m.Inline[0].Data = chart
		m.Attachments = []Attachment{{Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf}}
		ms[i] = m
	}
	sink := &countingSink{}
	port := notifytest.ServeSMTP(b, sink, func(srv *gosmtp.Server) {
		srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	})
	cfg := SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", From: "Agency <billing@agency.example>", Timeout: time.Minute, IdleTimeout: -1}
	s := NewSMTP(cfg)

	rate := func(fn func()) float64 {
		before := sink.count()
		el := elapsed(fn)
		if got := sink.count() - before; got != n {
			b.Fatalf("the sink got %d messages, want %d", got, n)
		}
		return float64(n) / el.Seconds()
	}
	ref := func() float64 {
		gms := make([]*mail.Msg, n)
		for i, m := range ms {
			gm, err := s.build(m)
			if err != nil {
				b.Fatal(err)
			}
			gms[i] = gm
		}
		c, err := mail.NewClient(cfg.Host, mail.WithPort(port), mail.WithTLSPolicy(mail.NoTLS))
		if err != nil {
			b.Fatal(err)
		}
		return rate(func() {
			if err := c.DialAndSend(gms...); err != nil {
				b.Fatal(err)
			}
		})
	}
	var prepTimes []float64
	prepared := func() float64 {
		var h *preparedFor
		prepTimes = append(prepTimes, elapsed(func() { h = prepareAll(s, ms) }).Seconds()/n)
		return rate(func() {
			for i, err := range s.SendBatch(context.Background(), ms, h) {
				if err != nil {
					b.Fatalf("message %d: %v", i, err)
				}
			}
		})
	}
	inLoop := func() float64 {
		return rate(func() {
			for i, err := range s.SendBatch(context.Background(), ms, nil) {
				if err != nil {
					b.Fatalf("message %d: %v", i, err)
				}
			}
		})
	}

	var refs, preps, loops []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, p, l := ref(), prepared(), inLoop()
		refs, preps, loops = append(refs, r), append(preps, p/r), append(loops, l/r)
		b.Logf("triple %d: reference %.0f messages/s, prepared %.0f (ratio %.2f), in-loop %.0f (ratio %.2f)", i+1, r, p, p/r, l, l/r)
	}
	b.StopTimer()
	b.ReportMetric(benchMedian(refs), "ref-msg/s")
	b.ReportMetric(benchMedian(preps), "prepared-median-ratio")
	b.ReportMetric(slices.Min(preps), "prepared-min-ratio")
	b.ReportMetric(benchMedian(loops), "in-loop-median-ratio")
	b.ReportMetric(benchMedian(prepTimes)*1e3, "prepare-ms/msg")
	b.ReportMetric(0, "ns/op") // a triple's time says nothing by itself
}

// elapsed runs fn and returns how long it took, on the monotonic clock:
// what a benchmark compares between its reference and ours in one run.
func elapsed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// countingSink is an SMTP server that takes every message and only counts
// them.
type countingSink struct {
	mu   sync.Mutex
	msgs int
}

func (s *countingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

func (s *countingSink) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return countingSession{s}, nil
}

type countingSession struct{ s *countingSink }

func (countingSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (countingSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (countingSession) Reset()                                 {}
func (countingSession) Logout() error                          { return nil }

func (cs countingSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	cs.s.mu.Lock()
	cs.s.msgs++
	cs.s.mu.Unlock()
	return nil
}
