package aws

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet/internal/testing/motoserver"
)

// The tests run the AWS provider against moto_server (a third-party AWS emulator),
// started once on a free loopback port and reset before each test.
var (
	motoSrv  *motoserver.Server
	motoSkip string
)

func TestMain(m *testing.M) {
	motoSrv, motoSkip = motoserver.Start()
	code := m.Run()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	os.Exit(code)
}

// moto resets moto and returns an AWS configuration pointed at it through the standard
// variables (AWS_ENDPOINT_URL and static credentials). (The ECS shim of aws/stack's tests
// is not needed here: these tests run no task.)
// wrap, if set, wraps that transport (fault injection).
// motoTimeout bounds each call to moto; the burst test at 10,000 instances raises it (moto
// takes longer than that to read them).
var motoTimeout = 30 * time.Second

func moto(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) awssdk.Config {
	t.Helper()
	if motoSrv == nil {
		t.Skip(motoSkip)
	}
	if err := motoSrv.Reset(); err != nil {
		t.Fatal(err)
	}
	motoSrv.Env(t.Setenv)
	var rt http.RoundTripper = http.DefaultTransport
	if wrap != nil {
		rt = wrap(rt)
	}
	cfg, err := LoadConfig(context.Background(), "us-east-1", Options{HTTPClient: &http.Client{Transport: rt, Timeout: motoTimeout}, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
