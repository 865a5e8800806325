package dashboard

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet/emulator"
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
		for _, p := range s.matching(target) {
			lr := readers[p.Name]
			if lr == nil {
				lr = &logReader{path: filepath.Join(s.logDir, filepath.Base(p.Name)+".log"), prefix: prefixOf(p)}
				readers[p.Name] = lr
				if !follow {
					lr.old(w) // the part that outgrew the cap, first
				}
			}
			if err := lr.copy(w); err != nil {
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

// matching are the processes of a service, or the one of a task or instance.
func (s *Server) matching(target string) []emulator.ProcessRecord {
	return slices.DeleteFunc(s.world.Processes(), func(p emulator.ProcessRecord) bool {
		return p.Service != target && p.Task != target && !(p.Task == "" && p.Instance == target)
	})
}

func (s *Server) isService(name string) bool {
	return slices.ContainsFunc(s.world.Status().Services, func(sv emulator.ServiceStatus) bool { return sv.Name == name })
}

func prefixOf(p emulator.ProcessRecord) string {
	if p.Task != "" {
		return p.Service + " " + p.Task + " (" + p.Instance + ") | "
	}
	return p.Service + " (" + p.Instance + ") | "
}

// logReader reads a process's log from where it stopped, a line at a time; a log that
// shrank was rotated by its cap, and is read again from its start.
type logReader struct {
	path, prefix string
	off          int64
	partial      []byte // the start of a line not yet ended
}

func (lr *logReader) copy(w io.Writer) error {
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
	data, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil
	}
	lr.off += int64(len(data))
	data = append(lr.partial, data...)
	end := bytes.LastIndexByte(data, '\n')
	lr.partial = slices.Clone(data[end+1:])
	if end < 0 {
		return nil
	}
	return lr.write(w, data[:end+1])
}

// old writes the rotated part of the log, when there is one.
func (lr *logReader) old(w io.Writer) {
	if data, err := os.ReadFile(lr.path + ".1"); err == nil {
		lr.write(w, data)
	}
}

// flush writes a last line that has no newline.
func (lr *logReader) flush(w io.Writer) {
	if len(lr.partial) > 0 {
		lr.write(w, append(lr.partial, '\n'))
		lr.partial = nil
	}
}

func (lr *logReader) write(w io.Writer, lines []byte) error {
	var b bytes.Buffer
	for line := range bytes.Lines(lines) {
		b.WriteString(lr.prefix)
		b.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
