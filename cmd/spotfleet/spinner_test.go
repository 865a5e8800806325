//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the terminal end a command writes to, and the end that
// reads what it wrote.
func openPTY(t *testing.T) (term, reader *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return s, m
}

// TestSpinnerOnlyOnATerminal: on a terminal the line moves and says what is awaited, and
// is cleared at the end; anywhere else nothing is written.
func TestSpinnerOnlyOnATerminal(t *testing.T) {
	var plain bytes.Buffer
	s := newSpinner(&plain, "reading")
	time.Sleep(250 * time.Millisecond)
	s.end()
	if plain.Len() != 0 {
		t.Errorf("off a terminal the spinner wrote %q", plain.String())
	}

	term, reader := openPTY(t)
	s = newSpinner(term, "checking AWS credentials")
	time.Sleep(150 * time.Millisecond)
	s.say("reading listeners from AWS (9 of 19)")
	time.Sleep(250 * time.Millisecond)
	s.end()
	s.end() // a second end is harmless
	buf := make([]byte, 4096)
	reader.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got strings.Builder
	for !strings.HasSuffix(got.String(), "\r\033[K") {
		n, err := reader.Read(buf)
		if err != nil {
			t.Fatalf("reading the terminal: %v (so far %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	for _, want := range []string{"checking AWS credentials (0s)", "reading listeners from AWS (9 of 19) (0s)"} {
		if !strings.Contains(got.String(), want) {
			t.Errorf("the terminal shows %q, without %q", got.String(), want)
		}
	}
}
