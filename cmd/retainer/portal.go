package main

import "context"

func (a *app) portal(ctx context.Context, c *cmdline) error {
	return usagef("not built yet")
}
