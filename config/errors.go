package config

import (
	"errors"
	"sort"
	"strings"
)

// ErrInvalid matches (errors.Is) every validation error Load returns.
var ErrInvalid = errors.New("invalid config")

// FieldError is one problem with one setting, named by its dotted path
// (contracts.acme-001.terms[1].from) or, for an environment variable that
// names no setting, by the variable.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Errors is every problem found in one load, sorted by path.
type Errors []*FieldError

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// Unwrap exposes each FieldError to errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted returns the errors ordered by path then message, without repeats.
func (es Errors) sorted() Errors {
	out := make(Errors, len(es))
	copy(out, es)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Msg < out[j].Msg
	})
	dedup := make(Errors, 0, len(out))
	for _, e := range out {
		if n := len(dedup); n > 0 && dedup[n-1].Path == e.Path && dedup[n-1].Msg == e.Msg {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}
