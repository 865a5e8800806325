// Package agent watches an instance's metadata service for a Spot interruption notice or a
// rebalance recommendation and acts on the instance: it runs a hook or signals the service,
// and reports the notice to the controller (which may not have seen the EventBridge event
// yet: the metadata service shows the notice first).
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet/clock"
)

// DefaultEndpoint is the metadata service of an EC2 instance.
const DefaultEndpoint = "http://169.254.169.254"

// tokenTTL is how long an IMDSv2 session token is asked for; it is renewed a minute early.
const tokenTTL = 6 * time.Hour

// IMDS is an IMDSv2 client of the metadata service.
type IMDS struct {
	Endpoint string
	Client   *http.Client
	Clock    clock.Clock

	mu      sync.Mutex
	token   string
	expires time.Time
}

// errNotFound is a 404: no notice (yet).
var errNotFound = errors.New("not found")

// Get reads a meta-data path (such as "spot/instance-action") with a session token,
// renewing the token when it expires or the service refuses it.
func (c *IMDS) Get(ctx context.Context, path string) ([]byte, error) {
	return c.get(ctx, "meta-data/"+path)
}

// Identity reads the instance identity document and its base64 signature, which prove to
// the controller that a report comes from this instance.
func (c *IMDS) Identity(ctx context.Context) (document []byte, signature string, err error) {
	doc, err := c.get(ctx, "dynamic/instance-identity/document")
	if err != nil {
		return nil, "", fmt.Errorf("instance identity document: %w", err)
	}
	sig, err := c.get(ctx, "dynamic/instance-identity/signature")
	if err != nil {
		return nil, "", fmt.Errorf("instance identity signature: %w", err)
	}
	return doc, strings.TrimSpace(string(sig)), nil
}

func (c *IMDS) get(ctx context.Context, path string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.sessionToken(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.Endpoint, "/")+"/latest/"+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-aws-ec2-metadata-token", tok)
		resp, err := c.Client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case err != nil:
			return nil, err
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			c.mu.Lock()
			c.token = "" // expired or from a restarted service: get a new one
			c.mu.Unlock()
			continue
		case resp.StatusCode == http.StatusNotFound:
			return nil, errNotFound
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("metadata service: GET %s: %s", path, resp.Status)
		}
		return body, nil
	}
}

func (c *IMDS) sessionToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.Clock.Now().Before(c.expires) {
		return c.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(c.Endpoint, "/")+"/latest/api/token", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(int(tokenTTL.Seconds())))
	resp, err := c.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("metadata service at %s: %w", c.Endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil || resp.StatusCode != http.StatusOK || len(body) == 0 {
		return "", fmt.Errorf("metadata service at %s: no session token (%s)", c.Endpoint, resp.Status)
	}
	c.token, c.expires = string(body), c.Clock.Now().Add(tokenTTL-time.Minute)
	return c.token, nil
}

// instanceAction is spot/instance-action.
type instanceAction struct {
	Action string    `json:"action"`
	Time   time.Time `json:"time"`
}

// rebalance is events/recommendations/rebalance.
type rebalance struct {
	NoticeTime time.Time `json:"noticeTime"`
}

func decode[T any](b []byte, err error) (*T, error) {
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("metadata service: unreadable notice %q: %w", b, err)
	}
	return &v, nil
}
