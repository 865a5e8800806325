package emulator

import (
	"fmt"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/imds"
	"github.com/spotfleet/spotfleet/internal/httpserver"
	"github.com/spotfleet/spotfleet/internal/iid"
)

// The instances' metadata services: one server (emulator/imds) on every instance's address,
// which finds the instance through AtAddress.

func (e *Emulator) imdsServer() *httpserver.Server {
	if e.imdsHTTP == nil {
		e.imdsHTTP = httpserver.New(e.imdsHandler(), httpserver.API)
	}
	return e.imdsHTTP
}

func (e *Emulator) imdsHandler() *imds.Server {
	return &imds.Server{World: imdsWorld{e}, Region: e.m.Region, Account: AccountID, Signer: e.signer, Log: e.log}
}

// imdsWorld is the world as the metadata service sees it.
type imdsWorld struct{ e *Emulator }

func (w imdsWorld) AtAddress(addrs []string, f func(in imds.Instance, now time.Time)) bool {
	e := w.e
	e.lock()
	defer e.unlock()
	for _, a := range addrs {
		if in := e.instanceByIP(a); in != nil {
			if !in.alive() {
				return false
			}
			f(in.metadata(), e.now)
			return true
		}
	}
	return false
}

// metadata is what the metadata service tells of the instance. Callers hold the lock.
func (in *instance) metadata() imds.Instance {
	m := imds.Instance{ID: in.id, Type: in.pool.InstanceType, Zone: in.pool.Zone, IP: in.ip, Arch: in.pool.Spec.Arch,
		Spot: in.lifecycle == spotfleet.Spot, LaunchedAt: in.launchedAt, RebalanceAt: in.rebalanceAt, Tokens: in.tokens}
	if in.noticed() {
		m.Deadline = in.deadline
	}
	return m
}

// imdsEndpoint is the metadata service URL of an instance, as processes on it get it in
// AWS_EC2_METADATA_SERVICE_ENDPOINT.
func (in *instance) imdsEndpoint() string {
	if in.imds == nil {
		return ""
	}
	return "http://" + in.imds.Addr().String()
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
	return e.imdsHandler().Identity(in.metadata())
}
