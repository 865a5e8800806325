package iid

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignedDocumentVerifies(t *testing.T) {
	s, err := NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(s.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	want := Document{InstanceID: "i-0123", AccountID: "123456789012", Region: "us-east-1", PendingTime: time.Unix(1e9, 0).UTC(), Version: "2017-09-30"}
	doc, sig, err := s.Sign(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(doc, sig)
	if err != nil || got != want {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
	}
	// A changed byte, another key, a bad encoding: refused.
	forged := []byte(strings.Replace(string(doc), "i-0123", "i-0999", 1))
	other, _ := NewSigner()
	_, otherSig, _ := other.Sign(want)
	for name, c := range map[string]struct {
		doc []byte
		sig string
	}{"changed document": {forged, sig}, "another key": {doc, otherSig}, "not base64": {doc, "!!"}, "empty": {nil, ""}} {
		if _, err := v.Verify(c.doc, c.sig); !errors.Is(err, ErrUnverified) {
			t.Errorf("%s: err = %v, want ErrUnverified", name, err)
		}
	}
}

func TestAWSCertificateParses(t *testing.T) {
	if _, err := AWS(); err != nil {
		t.Fatal(err)
	}
}
