package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// spinner keeps one line moving on a terminal while a command waits on AWS, so that a slow
// region or a long describe does not look like a hang. Off a terminal it writes nothing
// (logs and CI output stay clean).
type spinner struct {
	mu    sync.Mutex
	w     io.Writer
	what  string
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
}

func newSpinner(w io.Writer, what string) *spinner {
	s := &spinner{w: w, what: what, start: time.Now(), stop: make(chan struct{})}
	if !isTerminal(w) {
		return s
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		for i := 0; ; i++ {
			s.mu.Lock()
			fmt.Fprintf(s.w, "\r\033[K%c %s (%ds)", frames[i%len(frames)], s.what, int(time.Since(s.start).Seconds()))
			s.mu.Unlock()
			select {
			case <-s.stop:
				fmt.Fprint(s.w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// say changes what the line says.
func (s *spinner) say(what string) {
	s.mu.Lock()
	s.what = what
	s.mu.Unlock()
}

// end clears the line; it may be called more than once.
func (s *spinner) end() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.done.Wait()
}
