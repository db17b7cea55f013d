package main

import (
	"context"
	"fmt"
	"strings"
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
