package dashboard

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/httpserver"
)

// followEvery is how often a followed log is read again.
const followEvery = 200 * time.Millisecond

// serveLogs writes the output of a service's processes (every task it ran, in the order
// they started), of one task, or of the service on one instance, each line prefixed with
// its task and instance, as docker compose logs does. With follow=1 it keeps writing what
// they add, and the processes a service starts later, until the client goes.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	target, follow := r.URL.Query().Get("target"), r.URL.Query().Get("follow") == "1"
	if target == "" {
		http.Error(w, "name a service, a task or an instance: ?target=NAME", http.StatusBadRequest)
		return
	}
	if len(s.matching(target)) == 0 && !s.isService(target) {
		http.Error(w, fmt.Sprintf("no service, task or instance %q has run (spotfleet status lists them)", target), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	readers := map[string]*logReader{}
	for {
		// A followed log is an answer that never ends: each round has the server's write
		// timeout again, so that only a client that stops reading is cut.
		httpserver.Extend(w, httpserver.API.Write)
		for _, p := range s.matching(target) {
			lr := readers[p.Name]
			if lr == nil {
				lr = &logReader{path: filepath.Join(s.logDir, filepath.Base(p.Name)+".log"), prefix: prefixOf(p)}
				readers[p.Name] = lr
				if !follow {
					if lr.old(w) != nil { // the part that outgrew the cap, first
						return
					}
				}
			}
			if err := lr.copy(w, follow); err != nil {
				return // the client went away
			}
		}
		if !follow {
			for _, lr := range readers {
				lr.flush(w)
			}
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(followEvery):
		}
	}
}

// matching are the processes of a service, of an instance (the tasks it ran, or its
// service), or of a task: its ID, or its first eight characters or more, as status prints it.
func (s *Server) matching(target string) []emulator.ProcessRecord {
	return slices.DeleteFunc(s.world.Processes(), func(p emulator.ProcessRecord) bool {
		return p.Service != target && p.Instance != target && !fleetview.TaskIDMatches(p.Task, target)
	})
}

func (s *Server) isService(name string) bool {
	return slices.ContainsFunc(s.world.Status().Services, func(sv fleetview.ServiceStatus) bool { return sv.Name == name })
}

func prefixOf(p emulator.ProcessRecord) string {
	if p.Task != "" {
		return p.Service + " " + p.Task + " (" + p.Instance + ") | "
	}
	return p.Service + " (" + p.Instance + ") | "
}

// logReader reads a process's log from where it stopped, a line at a time; a log that
// shrank was rotated by its cap, and is read again from its start. It streams: what it
// holds at once is one chunk and one unfinished line, whatever the log's size (it read
// whole files and built the answer in memory, and a 15 MB log of empty lines took up to
// 2.24 GB).
type logReader struct {
	path, prefix string
	off          int64
	partial      []byte // the start of a line not yet ended, at most maxLine
}

const (
	logChunk = 32 << 10 // read at a time
	maxLine  = 64 << 10 // a longer line is written in pieces
	perRound = 4 << 20  // read of one log in one round, so that the others get their turn
)

// copy writes what the log gained since the last read: up to perRound when following
// (the other logs get their turn, and the next round goes on), all of it otherwise.
func (lr *logReader) copy(w io.Writer, follow bool) error {
	f, err := os.Open(lr.path)
	if err != nil {
		return nil // not written yet, or removed
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < lr.off {
		lr.off = 0
	}
	if _, err := f.Seek(lr.off, io.SeekStart); err != nil {
		return nil
	}
	var r io.Reader = f
	if follow {
		r = io.LimitReader(f, perRound)
	}
	n, err := lr.stream(w, r)
	lr.off += n
	return err
}

// old writes the rotated part of the log, when there is one.
func (lr *logReader) old(w io.Writer) error {
	f, err := os.Open(lr.path + ".1")
	if err != nil {
		return nil
	}
	defer f.Close()
	_, err = lr.stream(w, f)
	return err
}

// stream writes the complete lines of r, each with the prefix, and keeps the unfinished
// end for the next read. It returns how much it read and the writer's error.
func (lr *logReader) stream(w io.Writer, r io.Reader) (int64, error) {
	bw := bufio.NewWriterSize(w, logChunk)
	buf := make([]byte, logChunk)
	var read int64
	for {
		n, rerr := r.Read(buf)
		read += int64(n)
		if err := lr.lines(bw, buf[:n]); err != nil {
			return read, err
		}
		if rerr != nil {
			return read, bw.Flush()
		}
	}
}

// lines writes the lines data completes; the rest waits in partial.
func (lr *logReader) lines(w *bufio.Writer, data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lr.partial = append(lr.partial, data...)
			if len(lr.partial) >= maxLine {
				err := lr.line(w, lr.partial, nil)
				lr.partial = lr.partial[:0]
				return err
			}
			return nil
		}
		if err := lr.line(w, lr.partial, data[:i]); err != nil {
			return err
		}
		lr.partial, data = lr.partial[:0], data[i+1:]
	}
	return nil
}

func (lr *logReader) line(w *bufio.Writer, head, tail []byte) error {
	w.WriteString(lr.prefix)
	w.Write(head)
	w.Write(tail)
	return w.WriteByte('\n')
}

// flush writes the unfinished line as it is: the last one of a log that stopped without
// a newline, or a piece of one longer than maxLine.
func (lr *logReader) flush(w io.Writer) error {
	if len(lr.partial) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	lr.line(bw, lr.partial, nil)
	lr.partial = lr.partial[:0]
	return bw.Flush()
}
