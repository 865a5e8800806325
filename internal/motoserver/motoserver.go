// Package motoserver starts moto_server (a third-party AWS emulator, moto 5.2.1 on CI) for
// tests, on a free loopback port.
package motoserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Server is a running moto_server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start starts moto, or returns why it cannot (the tests skip with that message).
func Start() (*Server, string) {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		return nil, "moto is not installed (python3 -c 'import moto.server' failed: " + err.Error() + "); pip install 'moto[server]==5.2.1' to run the AWS tests"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "no free port for moto: " + err.Error()
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	// A test binary killed (a timeout, Ctrl-C) takes its moto along: the server would
	// otherwise outlive it, holding a port and memory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true") // the roles attach AWS managed policies
	if err := cmd.Start(); err != nil {
		return nil, "cannot start moto: " + err.Error()
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(s.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s, ""
		}
	}
	s.Stop()
	return nil, "moto did not answer within 30 s"
}

// Reset empties moto: every test starts from a fresh account.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Stop ends moto.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Env points the standard AWS configuration at moto, for the process (tests call it with
// t.Setenv through set).
func (s *Server) Env(set func(k, v string)) {
	set("AWS_ENDPOINT_URL", s.URL)
	set("AWS_ACCESS_KEY_ID", "testing")
	set("AWS_SECRET_ACCESS_KEY", "testing")
	set("AWS_SESSION_TOKEN", "")
	set("AWS_CONFIG_FILE", os.DevNull)
	set("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	set("AWS_CA_BUNDLE", "") // moto is plain HTTP
	set("AWS_REGION", "us-east-1")
}
