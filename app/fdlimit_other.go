//go:build !unix

package app

// maxConnections is the HTTP connection cap where the descriptor limit
// cannot be read.
func maxConnections() int { return 256 }
