// Package imdsmock serves amazon-ec2-metadata-mock's Spot handler, a third-party metadata
// service, for the agent's tests.
package imdsmock

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/amazon-ec2-metadata-mock/pkg/config"
	"github.com/aws/amazon-ec2-metadata-mock/pkg/mock/imdsv2"
	"github.com/aws/amazon-ec2-metadata-mock/pkg/mock/spot"
	spotcfg "github.com/aws/amazon-ec2-metadata-mock/pkg/mock/spot/config"
)

// Start serves, behind the mock's IMDSv2 token check, an interruption notice that appears at
// trigger with the instance action at terminate, a rebalance recommendation that appears at
// rebalance, and the instance ID. The mock keeps its configuration in package state: one
// server at a time.
func Start(trigger, terminate, rebalance time.Time, instanceID string) *httptest.Server {
	spot.SetConfig(config.Config{MockIPCount: -1, MockTriggerTime: trigger.UTC().Format(time.RFC3339),
		RebalanceTriggerTime: rebalance.UTC().Format(time.RFC3339),
		SpotConfig:           spotcfg.Config{InstanceAction: "terminate", TerminationTime: terminate.UTC().Format(time.RFC3339)}})
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/api/token", imdsv2.GenerateToken)
	// An identity document with a signature nobody can verify: the agent passes both on,
	// and the tests' controllers do not check them.
	mux.HandleFunc("/latest/dynamic/instance-identity/", imdsv2.ValidateToken(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/latest/dynamic/instance-identity/document":
			fmt.Fprintf(w, `{"instanceId": %q, "region": "us-east-1", "accountId": "123456789012"}`, instanceID)
		case "/latest/dynamic/instance-identity/signature":
			w.Write([]byte("bm90IGEgc2lnbmF0dXJl"))
		default:
			http.NotFound(w, r)
		}
	}))
	mux.HandleFunc("/latest/meta-data/", imdsv2.ValidateToken(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/meta-data/instance-id" {
			w.Write([]byte(instanceID))
			return
		}
		spot.Handler(w, r)
	}))
	return httptest.NewServer(mux)
}
