//go:build unix

package app

import "syscall"

// maxConnections leaves most of the process's descriptors to the database,
// the SMTP and tracker connections and the inbox: a quarter of the limit
// for HTTP clients, between 16 and 1024.
func maxConnections() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 256
	}
	return int(min(max(rl.Cur/4, 16), 1024))
}
