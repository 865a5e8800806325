// Package motoserver starts moto_server (a third-party AWS emulator, moto 5.2.1 on CI) for
// tests, on a free loopback port.
package motoserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/spotfleet/spotfleet/emulator/proc"
)

// Server is a running moto_server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start starts moto, or returns why it cannot (the tests skip with that message).
func Start() (*Server, string) {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		return nil, "moto is not installed (python3 -c 'import moto.server' failed: " + err.Error() + "); pip install 'moto[server]==5.2.1' to run the AWS tests"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "no free port for moto: " + err.Error()
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("python3", "-c", indexInstances, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	// A test binary killed (a timeout, Ctrl-C) takes its moto along: the server would
	// otherwise outlive it, holding a port and memory.
	cmd.SysProcAttr = proc.DiesWithParent()
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true") // the roles attach AWS managed policies
	if err := cmd.Start(); err != nil {
		return nil, "cannot start moto: " + err.Error()
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(s.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s, ""
		}
	}
	s.Stop()
	return nil, "moto did not answer within 30 s"
}

// indexInstances runs moto_server with two changes that keep its answers and make them
// fast at 10,000 instances, where moto 5.2.1's reads take minutes:
//   - it finds an instance by its ID by copying and scanning every reservation, once per
//     target in DescribeTargetHealth and per instance in Auto Scaling's calls. Here an
//     index of the instances seen so far does, extended when an ID is not in it; moto
//     never takes an instance out of its reservation (terminated ones stay, with their
//     state), so an indexed instance is the one the scan would find;
//   - it finds a resource's tags by scanning every tag of every resource (describe_tags
//     with a resource-id filter), once per instance a tag filter of DescribeInstances
//     looks at. Here the resource's own tags are read directly, in the same form.
const indexInstances = `
import sys
from moto.ec2.models import instances as m

def get_instance_by_id(self, instance_id):
    index = self.__dict__.setdefault("_spotfleet_index", {})
    found = index.get(instance_id)
    if found is None:
        # run_instances adds a reservation before its instances: index what is new in each.
        counts = self.__dict__.setdefault("_spotfleet_counts", {})
        for r in list(self.reservations.values()):
            seen = counts.get(r.id, 0)
            for i in r.instances[seen:]:
                index[i.id] = i
            counts[r.id] = len(r.instances)
        found = index.get(instance_id)
    return found

def get_instance(self, instance_id):
    found = get_instance_by_id(self, instance_id)
    if found is None:
        raise m.InvalidInstanceIdError(instance_id)
    return found

m.InstanceBackend.get_instance_by_id = get_instance_by_id
m.InstanceBackend.get_instance = get_instance

from moto.ec2.models import core, tags

def get_tags(self):
    if not self.id:
        return []
    kind = tags.EC2_PREFIX_TO_RESOURCE.get(tags.get_prefix(self.id), "")
    return [{"resource_id": self.id, "key": k, "value": v, "resource_type": kind}
            for k, v in (self.ec2_backend.tags.get(self.id) or {}).items()]

core.TaggedEC2Resource.get_tags = get_tags
from moto.server import main
sys.argv[0] = "moto_server"
main()
`

// Reset empties moto: every test starts from a fresh account.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Stop ends moto.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Env points the standard AWS configuration at moto, for the process (tests call it with
// t.Setenv through set).
func (s *Server) Env(set func(k, v string)) {
	set("AWS_ENDPOINT_URL", s.URL)
	set("AWS_ACCESS_KEY_ID", "testing")
	set("AWS_SECRET_ACCESS_KEY", "testing")
	set("AWS_SESSION_TOKEN", "")
	set("AWS_CONFIG_FILE", os.DevNull)
	set("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	set("AWS_CA_BUNDLE", "") // moto is plain HTTP
	set("AWS_REGION", "us-east-1")
}
