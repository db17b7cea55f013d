package store

// SetFailHook makes the store call fn at named points inside its write
// transactions; an error from fn aborts the transaction.
func (s *DB) SetFailHook(fn func(point string) error) { s.failHook = fn }
