package lbhttp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"time"
)

// SelfSigned makes the certificate HTTPS listeners present: self-signed, made for the run
// (its key never leaves the process), for the listen address, localhost and the given host
// names, so that a client that trusts its PEM verifies it as it would ACM's.
func SelfSigned(name, listenHost string, hosts []string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "spotfleet emulator " + name},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
		DNSNames:    append([]string{"localhost"}, hosts...),
		IPAddresses: []net.IP{net.ParseIP(listenHost), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Client is an HTTP client for load balancers as a user's would be with DNS pointing at
// them: it trusts certPEM (when not nil) and reaches a URL's port on listenHost whatever
// host name the URL has (a host-routed service's URL carries its host name). It does not
// follow redirects, so that an HTTP→HTTPS redirect is seen. Its transport is returned too,
// for its owner to close its idle connections.
func Client(certPEM []byte, listenHost string) (*http.Client, *http.Transport) {
	roots := x509.NewCertPool()
	if certPEM != nil {
		roots.AppendCertsFromPEM(certPEM)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 1024, DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(listenHost, port))
		},
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, tr
}
