package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/acm"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/internal/testing/motoserver"
	"github.com/spotfleet/spotfleet/manifest"
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
// variables (AWS_ENDPOINT_URL and static credentials), with the ECS shim in the transport.
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
	var rt http.RoundTripper = ecsShim{http.DefaultTransport}
	if wrap != nil {
		rt = wrap(rt)
	}
	cfg, err := aws.LoadConfig(context.Background(), "us-east-1", aws.Options{HTTPClient: &http.Client{Transport: rt, Timeout: motoTimeout}, MaxAttempts: 4})
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
	m, diags, err := manifest.Load("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	ownCertificate(t, m)
	m.AWS.Controller.Image = prebuiltController
	return m
}

// prebuiltController is the controller image most tests deploy, so that apply builds and
// pushes none (moto has no registry; TestControllerService pushes one to a registry).
const prebuiltController = "public.ecr.aws/spotfleet/controller:test"

// ownCertificate puts a certificate of moto's ACM in place of the manifest's placeholder
// ARNs, as a user puts theirs: moto, as AWS, refuses a listener whose certificate does not
// exist. It needs moto's environment (moto(t) sets it).
func ownCertificate(t *testing.T, m *manifest.Manifest) {
	t.Helper()
	var arn string
	for _, sv := range m.AllServices() {
		if lb := sv.LoadBalancer; lb != nil && lb.CertificateArn != "" {
			if arn == "" {
				cfg, err := aws.LoadConfig(context.Background(), m.Region, aws.Options{})
				if err != nil {
					t.Fatal(err)
				}
				out, err := acm.NewFromConfig(cfg).RequestCertificate(context.Background(), &acm.RequestCertificateInput{DomainName: awssdk.String("www.example.com")})
				if err != nil {
					t.Fatal(err)
				}
				arn = awssdk.ToString(out.CertificateArn)
			}
			lb.CertificateArn = arn
		}
	}
}
