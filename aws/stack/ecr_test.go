package stack

import (
	"context"
	"testing"
)

func TestECRRegion(t *testing.T) {
	for ref, want := range map[string]string{"123456789012.dkr.ecr.eu-west-3.amazonaws.com/web-controller:v1": "eu-west-3",
		"127.0.0.1:5000/x:1": "", "ghcr.io/spotfleet/spotfleet:1": "", "dkr.ecr.us-east-1.amazonaws.com/x": ""} {
		got, ok := ECRRegion(ref)
		if got != want || ok != (want != "") {
			t.Errorf("ECRRegion(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
}

// TestECRLoginOnMoto: the login a registry client sends to ECR comes from
// GetAuthorizationToken.
func TestECRLoginOnMoto(t *testing.T) {
	cfg := moto(t, nil)
	user, password, err := ECRLogin(context.Background(), cfg)
	if err != nil || user != "AWS" || password == "" {
		t.Errorf("ECRLogin: %q, %d bytes of password, %v; want AWS and a password", user, len(password), err)
	}
}
