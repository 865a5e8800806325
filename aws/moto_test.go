package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet/manifest"
)

// The tests run the AWS provider against moto_server (a third-party AWS emulator),
// started once on a free loopback port and reset before each test.
var (
	motoURL  string
	motoSkip string
)

func TestMain(m *testing.M) {
	os.Exit(runWithMoto(m))
}

func runWithMoto(m *testing.M) int {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		motoSkip = "moto is not installed (python3 -c 'import moto.server' failed: " + err.Error() + "); pip install 'moto[server]==5.2.1' to run the AWS tests"
		return m.Run()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		motoSkip = "no free port for moto: " + err.Error()
		return m.Run()
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true") // the roles attach AWS managed policies
	if err := cmd.Start(); err != nil {
		motoSkip = "cannot start moto: " + err.Error()
		return m.Run()
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			motoURL = url
			break
		}
	}
	if motoURL == "" {
		motoSkip = "moto did not answer within 30 s"
	}
	return m.Run()
}

// moto resets moto and returns an AWS configuration pointed at it through the standard
// variables (AWS_ENDPOINT_URL and static credentials), with the ECS shim in the transport.
// wrap, if set, wraps that transport (fault injection).
func moto(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) awssdk.Config {
	t.Helper()
	if motoURL == "" {
		t.Skip(motoSkip)
	}
	resp, err := http.Post(motoURL+"/moto-api/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Setenv("AWS_ENDPOINT_URL", motoURL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_CA_BUNDLE", "") // moto is plain HTTP; a custom client cannot take a bundle
	var rt http.RoundTripper = ecsShim{http.DefaultTransport}
	if wrap != nil {
		rt = wrap(rt)
	}
	cfg, err := LoadConfig(context.Background(), "us-east-1", Options{HTTPClient: &http.Client{Transport: rt, Timeout: 30 * time.Second}, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ecsShim adapts a moto quirk: ECS RunTask and DescribeTasks return a container's cpu and
// memory as numbers, where the API (and the SDK's deserializer) has strings.
type ecsShim struct{ next http.RoundTripper }

func (s ecsShim) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	target := r.Header.Get("X-Amz-Target")
	if err != nil || !(strings.HasSuffix(target, ".RunTask") || strings.HasSuffix(target, ".DescribeTasks") || strings.HasSuffix(target, ".StartTask")) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		if tasks, ok := doc["tasks"].([]any); ok {
			for _, t := range tasks {
				task, _ := t.(map[string]any)
				for _, field := range []string{"cpu", "memory"} {
					if n, ok := task[field].(float64); ok {
						task[field] = fmt.Sprint(n)
					}
				}
				cs, _ := task["containers"].([]any)
				for _, c := range cs {
					ct, _ := c.(map[string]any)
					for _, field := range []string{"cpu", "memory", "memoryReservation"} {
						if n, ok := ct[field].(float64); ok {
							ct[field] = fmt.Sprint(n)
						}
					}
				}
			}
			body, _ = json.Marshal(doc)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// example reads an example manifest of the repository.
func example(t *testing.T, name string) *manifest.Manifest {
	t.Helper()
	m, diags, err := manifest.Load("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
