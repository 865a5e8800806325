// Package imds is the emulated EC2 instance metadata service: one HTTP handler answers for
// every instance, each on its own address. It knows the caller's instance by the caller's
// source address when that is an instance's, else by the address the caller dialed (an
// unbound loopback client connects from 127.0.0.1). IMDSv1 is answered, and IMDSv2's
// session tokens are issued and checked; a token that is sent must be valid.
package imds

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet/internal/iid"
)

// TimeFormat is how the metadata service (and Auto Scaling's messages) write times.
const TimeFormat = "2006-01-02T15:04:05Z"

// Instance is what the metadata service tells of one instance.
type Instance struct {
	ID, Type, Zone, IP, Arch string
	Spot                     bool
	LaunchedAt               time.Time
	Deadline                 time.Time // of its Spot interruption notice; zero when it has none
	RebalanceAt              time.Time // of its rebalance recommendation; zero when it has none
	// Tokens are its IMDSv2 session tokens and their expiry, kept by the world with the
	// instance (and written here, under the world's lock).
	Tokens map[string]time.Time
}

// World finds the live instance at one of the addresses and calls f with it and the
// world's time, under the world's lock; it reports whether there was one.
type World interface {
	AtAddress(addrs []string, f func(in Instance, now time.Time)) bool
}

// Server is the handler of every instance's metadata service.
type Server struct {
	World   World
	Region  string
	Account string
	Signer  func() (*iid.Signer, error) // signs instance identity documents
	Log     *slog.Logger
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addrs := []string{hostOf(r.RemoteAddr)}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		addrs = append(addrs, hostOf(a.String()))
	}
	if !s.World.AtAddress(addrs, func(in Instance, now time.Time) { s.serve(w, r, in, now) }) {
		http.Error(w, "no instance at this address", http.StatusNotFound)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, in Instance, now time.Time) {
	if r.URL.Path == "/latest/api/token" {
		token(w, r, in, now)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if tok := r.Header.Get("X-aws-ec2-metadata-token"); tok != "" {
		if exp, ok := in.Tokens[tok]; !ok || !now.Before(exp) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	var body string
	var ok bool
	switch {
	case strings.HasPrefix(r.URL.Path, "/latest/meta-data/"):
		body, ok = metadata(in, strings.TrimPrefix(r.URL.Path, "/latest/meta-data/"))
	case r.URL.Path == "/latest/dynamic/instance-identity/document", r.URL.Path == "/latest/dynamic/instance-identity/signature":
		doc, sig, err := s.Identity(in)
		if err != nil {
			if s.Log != nil {
				s.Log.Warn("cannot sign instance identity documents", "err", err)
			}
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

func token(w http.ResponseWriter, r *http.Request, in Instance, now time.Time) {
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
	in.Tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	w.Write([]byte(tok))
}

// metadata answers one meta-data path for an instance.
func metadata(in Instance, path string) (string, bool) {
	switch path {
	case "", "/":
		return "instance-id\ninstance-type\nlocal-ipv4\nplacement/\nspot/\nevents/", true
	case "instance-id":
		return in.ID, true
	case "instance-type":
		return in.Type, true
	case "placement/availability-zone":
		return in.Zone, true
	case "local-ipv4":
		return in.IP, true
	case "instance-life-cycle":
		if in.Spot {
			return "spot", true
		}
		return "on-demand", true
	case "spot/instance-action":
		if in.Deadline.IsZero() {
			return "", false
		}
		b, _ := json.Marshal(map[string]string{"action": "terminate", "time": in.Deadline.UTC().Format(TimeFormat)})
		return string(b), true
	case "events/recommendations/rebalance":
		if in.RebalanceAt.IsZero() {
			return "", false
		}
		b, _ := json.Marshal(map[string]string{"noticeTime": in.RebalanceAt.UTC().Format(TimeFormat)})
		return string(b), true
	}
	return "", false
}

// Identity is the instance identity document of an instance and its base64 signature.
func (s *Server) Identity(in Instance) ([]byte, string, error) {
	signer, err := s.Signer()
	if err != nil {
		return nil, "", err
	}
	return signer.Sign(iid.Document{InstanceID: in.ID, AccountID: s.Account, Region: s.Region,
		AvailabilityZone: in.Zone, InstanceType: in.Type, PrivateIP: in.IP,
		Architecture: in.Arch, PendingTime: in.LaunchedAt.UTC().Truncate(time.Second), Version: "2017-09-30"})
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
