package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/httpserver"
	"github.com/spotfleet/spotfleet/internal/iid"
)

// The instance metadata service answers on each instance's own address. It knows the
// caller's instance by the caller's source address when that is an instance's, else by the
// address the caller dialed (an unbound loopback client connects from 127.0.0.1).

const imdsTimeFormat = "2006-01-02T15:04:05Z"

func (e *Emulator) imdsServer() *httpserver.Server {
	if e.imdsHTTP == nil {
		e.imdsHTTP = httpserver.New(http.HandlerFunc(e.serveIMDS), httpserver.API)
	}
	return e.imdsHTTP
}

func (e *Emulator) serveIMDS(w http.ResponseWriter, r *http.Request) {
	e.lock()
	defer e.unlock()
	in := e.instanceByIP(hostOf(r.RemoteAddr))
	if in == nil {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			in = e.instanceByIP(hostOf(a.String()))
		}
	}
	if in == nil || !in.alive() {
		http.Error(w, "no instance at this address", http.StatusNotFound)
		return
	}
	if r.URL.Path == "/latest/api/token" {
		e.imdsToken(w, r, in)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// IMDSv1 (no token) is answered too; a token that is sent must be valid.
	if tok := r.Header.Get("X-aws-ec2-metadata-token"); tok != "" {
		if exp, ok := in.tokens[tok]; !ok || !e.now.Before(exp) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	var body string
	var ok bool
	switch {
	case strings.HasPrefix(r.URL.Path, "/latest/meta-data/"):
		body, ok = e.metadata(in, strings.TrimPrefix(r.URL.Path, "/latest/meta-data/"))
	case r.URL.Path == "/latest/dynamic/instance-identity/document", r.URL.Path == "/latest/dynamic/instance-identity/signature":
		doc, sig, err := e.identity(in)
		if err != nil {
			e.log.Warn("cannot sign instance identity documents", "err", err)
			break
		}
		body, ok = string(doc), true
		if strings.HasSuffix(r.URL.Path, "/signature") {
			body = sig
		}
	}
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(body))
}

func (e *Emulator) imdsToken(w http.ResponseWriter, r *http.Request, in *instance) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	in.tokens[tok] = e.now.Add(time.Duration(ttl) * time.Second)
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	w.Write([]byte(tok))
}

// metadata answers one meta-data path for an instance.
func (e *Emulator) metadata(in *instance, path string) (string, bool) {
	switch path {
	case "", "/":
		return "instance-id\ninstance-type\nlocal-ipv4\nplacement/\nspot/\nevents/", true
	case "instance-id":
		return in.id, true
	case "instance-type":
		return in.pool.InstanceType, true
	case "placement/availability-zone":
		return in.pool.Zone, true
	case "local-ipv4":
		return in.ip, true
	case "instance-life-cycle":
		if in.lifecycle == spotfleet.Spot {
			return "spot", true
		}
		return "on-demand", true
	case "spot/instance-action":
		if !in.noticed() {
			return "", false
		}
		b, _ := json.Marshal(map[string]string{"action": "terminate", "time": in.deadline.UTC().Format(imdsTimeFormat)})
		return string(b), true
	case "events/recommendations/rebalance":
		if in.rebalanceAt.IsZero() {
			return "", false
		}
		b, _ := json.Marshal(map[string]string{"noticeTime": in.rebalanceAt.UTC().Format(imdsTimeFormat)})
		return string(b), true
	}
	return "", false
}

// IMDSEndpoint is the metadata service URL of an instance, as processes on it get it in
// AWS_EC2_METADATA_SERVICE_ENDPOINT.
func (in *instance) imdsEndpoint() string {
	if in.imds == nil {
		return ""
	}
	return "http://" + in.imds.Addr().String()
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// identity is the instance identity document and its base64 signature, signed with the
// emulator's own key (IdentityCertificate). Callers hold the lock.
func (e *Emulator) identity(in *instance) ([]byte, string, error) {
	s, err := e.signer()
	if err != nil {
		return nil, "", err
	}
	return s.Sign(iid.Document{InstanceID: in.id, AccountID: AccountID, Region: e.m.Region,
		AvailabilityZone: in.pool.Zone, InstanceType: in.pool.InstanceType, PrivateIP: in.ip,
		Architecture: in.pool.Spec.Arch, PendingTime: in.launchedAt.UTC().Truncate(time.Second), Version: "2017-09-30"})
}

// signer is the key the metadata service signs identity documents with, made once: the
// controller of the same run trusts its certificate.
func (e *Emulator) signer() (*iid.Signer, error) {
	e.signerOnce.Do(func() { e.iidSigner, e.iidErr = iid.NewSigner() })
	return e.iidSigner, e.iidErr
}

// IdentityCertificate is the certificate of the key the metadata services sign instance
// identity documents with, for the controller that takes agent reports of this run.
func (e *Emulator) IdentityCertificate() ([]byte, error) {
	s, err := e.signer()
	if err != nil {
		return nil, err
	}
	return s.Certificate(), nil
}

// IdentityDocument is what the instance's metadata service serves as its instance identity
// document and signature.
func (e *Emulator) IdentityDocument(id string) ([]byte, string, error) {
	e.lock()
	defer e.unlock()
	in := e.instances[id]
	if in == nil {
		return nil, "", fmt.Errorf("no instance %s", id)
	}
	return e.identity(in)
}
