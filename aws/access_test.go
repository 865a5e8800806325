package aws

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/internal/testing/awsanswer"
)

// noCredentials empties every source of the credentials chain.
func noCredentials(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestNoCredentialsSaysWhatToDo(t *testing.T) {
	noCredentials(t)
	cfg, err := LoadConfig(context.Background(), "us-east-1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckAccess(context.Background(), cfg, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "no AWS credentials: tried the environment") ||
		!strings.Contains(err.Error(), "--profile NAME") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v", err)
	}
}

// withKeys is a configuration with static keys whose calls go to endpoint over rt.
func withKeys(t *testing.T, endpoint string, rt http.RoundTripper) Options {
	noCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	if rt == nil {
		rt = http.DefaultTransport
	}
	return Options{HTTPClient: &http.Client{Transport: rt}}
}

// TestNoNetworkFailsWithinTheTimeout: an endpoint that refuses connections, and one that
// takes them and never answers, fail within the timeout (not after the retryer's minute),
// naming the endpoint.
func TestNoNetworkFailsWithinTheTimeout(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := "http://" + closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for name, endpoint := range map[string]string{"refused": refusing, "silent": "http://" + silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadConfig(context.Background(), "us-east-1", withKeys(t, endpoint, nil))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = CheckAccess(context.Background(), cfg, time.Second)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s with a 1 s timeout", took)
			}
			if err == nil || !strings.Contains(err.Error(), "cannot reach AWS at "+endpoint+" (") || !strings.Contains(err.Error(), "the limit is 1s") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestExpiredAndRefusedCredentials(t *testing.T) {
	for code, want := range map[string]string{"ExpiredToken": "have expired (ExpiredToken): refresh them", "InvalidClientTokenId": "AWS refused the credentials"} {
		t.Run(code, func(t *testing.T) {
			rt := awsanswer.Transport{Status: 403, ContentType: "text/xml", Body: `<ErrorResponse><Error><Type>Sender</Type><Code>` + code +
				`</Code><Message>The security token included in the request is invalid</Message></Error><RequestId>x</RequestId></ErrorResponse>`}
			cfg, err := LoadConfig(context.Background(), "us-east-1", withKeys(t, "http://127.0.0.1:1", rt))
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckAccess(context.Background(), cfg, 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "EnvConfigCredentials") {
				t.Fatalf("got %v", err)
			}
		})
	}
}
