package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// portal link CONTRACT_ID: a new client portal link for the contract. Any
// earlier link of the contract stops working at once.
func (a *invocation) portal(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 || c.args[0] != "link" {
		return usagef("want: portal link CONTRACT_ID")
	}
	id := c.args[1]
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	if c.cfg.Contract(id) == nil {
		return usagef("no contract %q in %s", id, c.config)
	}
	token, err := c.db.RotatePortalToken(ctx, id, a.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s/p/%s\n", strings.TrimRight(c.cfg.HTTP.BaseURL, "/"), token)
	fmt.Fprintf(a.stdout, "Any earlier portal link for %s no longer works.\n", id)
	return nil
}

// passwordHash prints the bcrypt hash of a password, for
// http.admin_password_hash. It needs no config. At a terminal it asks twice
// on standard error and reads without echo; otherwise it reads the first
// line of standard input (echo 'pw' | retainer password-hash).
func (a *invocation) passwordHash(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("password-hash takes no arguments: it reads the password on standard input")
	}
	var pw string
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var err error
		if pw, err = a.promptPassword(ctx, int(f.Fd())); err != nil {
			return err
		}
	} else {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	switch {
	case len(pw) < 8:
		return usagef("the password must have at least 8 characters")
	case len(pw) > 72:
		return usagef("the password must have at most 72 bytes (bcrypt reads no more)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, string(hash))
	return nil
}

// promptPassword asks for the password twice at the terminal fd, echo off.
func (a *invocation) promptPassword(ctx context.Context, fd int) (string, error) {
	fmt.Fprint(a.stderr, "Password: ")
	pw, err := readNoEcho(ctx, fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(a.stderr, "Confirm password: ")
	again, err := readNoEcho(ctx, fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", err
	}
	if string(pw) != string(again) {
		return "", usagef("the passwords do not match")
	}
	return string(pw), nil
}

// readNoEcho reads a line from the terminal fd without echo. Ctrl-C (which
// cancels ctx rather than killing the process) gives the terminal its echo
// back before the command exits.
func readNoEcho(ctx context.Context, fd int) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		line []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := term.ReadPassword(fd)
		done <- result{line, err}
	}()
	select {
	case r := <-done:
		return r.line, r.err
	case <-ctx.Done():
		term.Restore(fd, state)
		return nil, ctx.Err()
	}
}
