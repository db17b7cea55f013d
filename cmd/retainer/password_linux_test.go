package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/crypto/bcrypt"
)

// password-hash at a terminal: a pseudo-terminal stands in for the user's
// (Linux: /dev/ptmx, no library).

// lockedBuffer is a stderr the test reads while the command writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// openPTY returns a pseudo-terminal's master and its terminal end.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

func echoOff(t *testing.T, tty *os.File) bool {
	var tio syscall.Termios
	if err := ioctl(tty, syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&syscall.ECHO == 0
}

// waitFor polls until cond holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// typeAtTerminal runs password-hash on a terminal and types the two lines
// when each prompt is up with echo off. It returns the exit code, stdout,
// stderr and what the terminal showed.
func typeAtTerminal(t *testing.T, first, second string) (int, string, string, string) {
	master, tty := openPTY(t)
	var out bytes.Buffer
	errb := &lockedBuffer{}
	a := &invocation{stdin: tty, stdout: &out, stderr: errb}
	done := make(chan int, 1)
	go func() { done <- a.run(context.Background(), []string{"password-hash"}) }()

	waitFor(t, "the first prompt with echo off", func() bool { return strings.Contains(errb.String(), "Password: ") && echoOff(t, tty) })
	if _, err := master.WriteString(first + "\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the confirmation prompt with echo off", func() bool {
		return strings.Contains(errb.String(), "Confirm password: ") && echoOff(t, tty)
	})
	if _, err := master.WriteString(second + "\n"); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("password-hash did not return")
	}
	if echoOff(t, tty) {
		t.Error("the terminal's echo was not restored")
	}
	// What the terminal displayed: everything up to a marker written after.
	if _, err := tty.WriteString("END-OF-TEST\n"); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(10 * time.Second))
	var shown bytes.Buffer
	buf := make([]byte, 256)
	for !strings.Contains(shown.String(), "END-OF-TEST") {
		n, err := master.Read(buf)
		shown.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading the terminal: %v (so far %q)", err, shown.String())
		}
	}
	return code, out.String(), errb.String(), shown.String()
}

func TestPasswordHashAtTerminal(t *testing.T) {
	code, out, stderr, shown := typeAtTerminal(t, "s3cret-demo", "s3cret-demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out)), []byte("s3cret-demo")); err != nil {
		t.Error(err)
	}
	if strings.Contains(shown, "s3cret") {
		t.Errorf("the password was echoed: %q", shown)
	}

	code, out, stderr, _ = typeAtTerminal(t, "s3cret-demo", "s3cret-dem0")
	if code != exitUsage || !strings.Contains(stderr, "do not match") || out != "" {
		t.Errorf("mismatch: exit %d %q %q", code, stderr, out)
	}
}
