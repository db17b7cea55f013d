package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// portal link CONTRACT_ID: a new client portal link for the contract. Any
// earlier link of the contract stops working at once.
func (a *app) portal(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 || c.args[0] != "link" {
		return usagef("want: portal link CONTRACT_ID")
	}
	id := c.args[1]
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	if c.cfg.Contract(id) == nil {
		return fmt.Errorf("no contract %q in %s", id, c.config)
	}
	token, err := c.db.RotatePortalToken(ctx, id, a.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s/p/%s\n", strings.TrimRight(c.cfg.HTTP.BaseURL, "/"), token)
	fmt.Fprintf(a.stdout, "Any earlier portal link for %s no longer works.\n", id)
	return nil
}

// passwordHash prints the bcrypt hash of the password on standard input
// (its first line), for http.admin_password_hash. It needs no config.
func (a *app) passwordHash(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("password-hash takes no arguments: it reads the password on standard input")
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
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
