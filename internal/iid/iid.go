// Package iid is the EC2 instance identity document: what the metadata service says an
// instance is, signed by AWS, so that a report from an instance can be trusted to come from
// it (docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-iid.html). The agent reads the
// document and its base64 signature (a SHA-256 RSA signature) from the metadata service and
// sends both with a report; the controller verifies the signature with AWS's public
// certificate and takes the instance from the document. The emulator's metadata service
// signs with a key of its own, which the emulated controller trusts.
package iid

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Document is the instance identity document, with AWS's field names.
type Document struct {
	InstanceID       string    `json:"instanceId"`
	AccountID        string    `json:"accountId"`
	Region           string    `json:"region"`
	AvailabilityZone string    `json:"availabilityZone"`
	InstanceType     string    `json:"instanceType"`
	PrivateIP        string    `json:"privateIp"`
	ImageID          string    `json:"imageId,omitempty"`
	Architecture     string    `json:"architecture,omitempty"`
	PendingTime      time.Time `json:"pendingTime"`
	Version          string    `json:"version"`
}

// ErrUnverified is any reason a document is not accepted.
var ErrUnverified = errors.New("instance identity not verified")

// Verifier checks documents against the public keys it trusts.
type Verifier struct {
	keys []*rsa.PublicKey
}

// NewVerifier trusts the RSA keys of the given PEM certificates.
func NewVerifier(certsPEM ...[]byte) (*Verifier, error) {
	v := &Verifier{}
	for _, b := range certsPEM {
		for len(b) > 0 {
			var block *pem.Block
			block, b = pem.Decode(b)
			if block == nil {
				break
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("instance identity certificate: %w", err)
			}
			key, ok := cert.PublicKey.(*rsa.PublicKey)
			if !ok {
				return nil, errors.New("instance identity certificate: not an RSA key (use the certificate for the base64-encoded signature)")
			}
			v.keys = append(v.keys, key)
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("instance identity: no certificate")
	}
	return v, nil
}

// Verify checks the signature (base64, as the metadata service serves it) over the
// document's exact bytes and returns the document.
func (v *Verifier) Verify(document []byte, signature string) (Document, error) {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return Document{}, fmt.Errorf("%w: signature is not base64", ErrUnverified)
	}
	sum := sha256.Sum256(document)
	for _, k := range v.keys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil {
			var d Document
			if err := json.Unmarshal(document, &d); err != nil || d.InstanceID == "" {
				return Document{}, fmt.Errorf("%w: signed document without an instance", ErrUnverified)
			}
			return d, nil
		}
	}
	return Document{}, fmt.Errorf("%w: bad signature", ErrUnverified)
}

// Signer signs documents as the emulator's metadata service, with a key made for the run.
type Signer struct {
	key  *rsa.PrivateKey
	cert []byte // PEM
}

// NewSigner makes a key and a self-signed certificate for it.
func NewSigner() (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: bigOne, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	tmpl.Subject.CommonName = "spotfleet emulator instance identity"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Certificate is the PEM certificate a Verifier of this signer's documents trusts.
func (s *Signer) Certificate() []byte { return s.cert }

// Sign renders a document as the metadata service serves it, with its base64 signature.
func (s *Signer) Sign(d Document) ([]byte, string, error) {
	doc, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(doc)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, "", err
	}
	return doc, base64.StdEncoding.EncodeToString(sig), nil
}
