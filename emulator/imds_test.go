package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
)

func imdsGet(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("X-aws-ec2-metadata-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func imdsToken(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %v %v", err, resp)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestMetadataServicePerInstanceIMDSv2: each instance's metadata service answers for that
// instance, with IMDSv2 tokens (and IMDSv1), and shows the notice and the rebalance
// recommendation as AWS's JSON.
func TestMetadataServicePerInstanceIMDSv2(t *testing.T) {
	e := realEmulator(t, iceManifest)
	var a, b *instance
	inspect(e, func() {
		g := e.groups[0]
		a = e.launch(g, e.market.pools[0], spotfleet.Spot, 1)
		b = e.launch(g, e.market.pools[1], spotfleet.Spot, 1)
	})
	for _, in := range []*instance{a, b} {
		base := in.imdsEndpoint()
		tok := imdsToken(t, base)
		for path, want := range map[string]string{
			"/latest/meta-data/instance-id":                 in.id,
			"/latest/meta-data/instance-type":               in.pool.InstanceType,
			"/latest/meta-data/placement/availability-zone": in.pool.Zone,
			"/latest/meta-data/local-ipv4":                  in.ip,
		} {
			if code, got := imdsGet(t, base, path, tok); code != 200 || got != want {
				t.Errorf("%s %s: %d %q, want %q", in.id, path, code, got, want)
			}
		}
		if code, got := imdsGet(t, base, "/latest/meta-data/instance-id", ""); code != 200 || got != in.id {
			t.Errorf("IMDSv1: %d %q", code, got)
		}
		if code, _ := imdsGet(t, base, "/latest/meta-data/instance-id", "forged"); code != http.StatusUnauthorized {
			t.Errorf("bad token: %d, want 401", code)
		}
		if code, _ := imdsGet(t, base, "/latest/meta-data/spot/instance-action", tok); code != http.StatusNotFound {
			t.Errorf("instance-action before any notice: %d, want 404", code)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, a.imdsEndpoint()+"/latest/api/token", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("token without a TTL: %d, want 400", resp.StatusCode)
		}
	}

	inspect(e, func() {
		e.recommendRebalance(a)
		e.interrupt(a)
	})
	tok := imdsToken(t, a.imdsEndpoint())
	code, body := imdsGet(t, a.imdsEndpoint(), "/latest/meta-data/spot/instance-action", tok)
	var action struct{ Action, Time string }
	if err := json.Unmarshal([]byte(body), &action); code != 200 || err != nil || action.Action != "terminate" {
		t.Fatalf("instance-action: %d %q", code, body)
	}
	when, err := time.Parse(time.RFC3339, action.Time)
	if err != nil || !when.Equal(a.deadline.UTC().Truncate(time.Second)) {
		t.Errorf("instance-action time %q, want the deadline %s", action.Time, a.deadline.UTC())
	}
	if code, body := imdsGet(t, a.imdsEndpoint(), "/latest/meta-data/events/recommendations/rebalance", tok); code != 200 || !strings.Contains(body, `"noticeTime"`) {
		t.Errorf("rebalance: %d %q", code, body)
	}
	// The other instance knows nothing of it.
	if code, _ := imdsGet(t, b.imdsEndpoint(), "/latest/meta-data/spot/instance-action", ""); code != http.StatusNotFound {
		t.Errorf("the other instance's instance-action: %d, want 404", code)
	}
}
