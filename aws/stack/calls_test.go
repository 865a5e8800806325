package stack

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// TestCallsOfABurst counts, by API, the AWS calls the controller makes in quiet rounds and
// for a burst of interruptions (a tenth of the Spot instances at once, each out of the
// load balancer at once) on fleets of two sizes on moto (burstSizes). The calls that change
// something are batched by AWS's per-call limits, and the reads between full reads re-read
// only what changed (cache.go): this fails if a quiet round's reads, or the calls of either
// kind per notice, grow with the fleet.
func TestCallsOfABurst(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 instances on moto")
	}
	if slices.Max(burstSizes) > 2000 {
		defer func(d time.Duration) { motoTimeout = d }(motoTimeout)
		motoTimeout = 10 * time.Minute
	}
	perNotice, readsPerNotice, perRound := map[int]float64{}, map[int]float64{}, map[int]float64{}
	for _, n := range burstSizes {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) { // its controller stops with it
			burst(t, n, perNotice, readsPerNotice, perRound)
		})
	}
	small, large := burstSizes[0], burstSizes[len(burstSizes)-1]
	if perNotice[large] > perNotice[small]*1.25+0.1 {
		t.Errorf("changing calls a notice grew with the fleet: %.2f at %d instances, %.2f at %d", perNotice[small], small, perNotice[large], large)
	}
	if readsPerNotice[large] > readsPerNotice[small]*1.25+0.1 {
		t.Errorf("reads a notice grew with the fleet: %.2f at %d instances, %.2f at %d", readsPerNotice[small], small, readsPerNotice[large], large)
	}
	if perRound[large] > perRound[small]+0.5 {
		t.Errorf("a quiet round's reads grew with the fleet: %.1f calls at %d instances, %.1f at %d", perRound[small], small, perRound[large], large)
	}
}

// burst measures one fleet's quiet rounds and burst.
func burst(t *testing.T, n int, perNotice, readsPerNotice, perRound map[int]float64) {
	rec := &calls{}
	cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	m := example(t, "s2-web-app-spot-instances-alb.yaml")
	m.AWS.Controller.Deploy = false
	g := &m.Capacity[0]
	g.MinSize, g.MaxSize, g.DesiredCapacity = n, n, n
	if n > 2000 { // a default subnet (/20) holds about 4,000 addresses: a VPC of two /17s
		m.AWS.VPC, m.AWS.Subnets = wideVPC(t, cfg, g.Zones[:2])
		g.Zones = g.Zones[:2]
		g.MinSize, g.DesiredCapacity = launchStep, launchStep // moto launches 1,000 in seconds, not 10,000 in 30 s
	}
	spot := fleetOnMoto(t, cfg, m)[g.Name]
	if n > g.DesiredCapacity {
		spot = grow(t, cfg, m, g.Name, n)
		g.MinSize, g.DesiredCapacity = n, n
	}
	plain, err := aws.LoadConfig(context.Background(), "us-east-1", aws.Options{HTTPClient: &http.Client{Timeout: motoTimeout}}) // the test's own calls, not counted
	if err != nil {
		t.Fatal(err)
	}
	tg, err := NewStack(plain, m).targetGroupARN(context.Background(), m.TargetGroupName(*m.Instances))
	if err != nil {
		t.Fatal(err)
	}
	// registered counts the targets among ids (all, when nil): Auto Scaling registers
	// the replacements, so the count of the whole group does not fall.
	registered := func(ids []string) int {
		out, err := elb.NewFromConfig(plain).DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: &tg})
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for _, h := range out.TargetHealthDescriptions {
			if ids == nil || slices.Contains(ids, awssdk.ToString(h.Target.Id)) {
				c++
			}
		}
		return c
	}
	if got := registered(nil); got != n {
		t.Fatalf("%d targets registered; want %d", got, n)
	}
	rec.reset() // the set-up's calls
	runController(t, cfg, m)
	waitRounds(t, rec, 2) // the full read, and a round after it
	rec.reset()
	quietFrom := time.Now()
	waitRounds(t, rec, 3)
	time.Sleep(3*time.Second - time.Since(quietFrom))
	quiet := rec.byAPI()
	rec.reset()
	rounds := quiet["DescribeAutoScalingGroups"] // one a round
	_, quietReads := countCalls(quiet)
	perRound[n] = float64(quietReads) / float64(rounds)
	t.Logf("n=%d instances: a quiet round reads %.1f calls (%d rounds)", n, perRound[n], rounds) // now: a burst that times out loses nothing

	k := n / 10
	began := time.Now()
	sender := aws.NewProvider(plain, m)
	for i, id := range spot[:k] {
		body := eventAt(t, time.Now().Add(-110*time.Second), fmt.Sprintf("e-%d", i), spotfleet.DetailSpotInterruption, "aws.ec2", interruption(id))
		if err := sender.SendMessage(context.Background(), body); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(burstDeadline(n)); registered(spot[:k]) > 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			rec.mu.Lock()
			seen := slices.Compact(slices.Sorted(slices.Values(rec.seen)))
			rec.mu.Unlock()
			t.Fatalf("n=%d: %d of %d targets still registered after %s; the controller called %v", n, registered(spot[:k]), k, burstDeadline(n), seen)
		}
	}
	took := time.Since(began)

	byAPI := rec.byAPI()
	changing, reads := countCalls(byAPI)
	var line []string
	for _, a := range slices.Sorted(maps.Keys(byAPI)) {
		line = append(line, fmt.Sprintf("%s %d", a, byAPI[a]))
	}
	perNotice[n], readsPerNotice[n] = float64(changing)/float64(k), float64(reads)/float64(k)
	t.Logf("n=%d instances: %d notices, all out of the load balancer in %s: %.2f changing calls and %.2f reads a notice; by API: %s",
		n, k, took.Round(100*time.Millisecond), perNotice[n], readsPerNotice[n], strings.Join(line, ", "))
}

// countCalls counts the calls that change something and the reads, leaving out the queue's
// bookkeeping (per message, and per 30 s a message is held).
func countCalls(byAPI map[string]int) (changing, reads int) {
	for a, c := range byAPI {
		switch {
		case queueCalls[a]:
		case strings.HasPrefix(a, "Describe") || strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Get"):
			reads += c
		default:
			changing += c
		}
	}
	return changing, reads
}

var queueCalls = map[string]bool{"ReceiveMessage": true, "DeleteMessage": true, "ChangeMessageVisibility": true}

// burstSizes are the fleets measured: 50 and 300 instances in the tests (moto takes seconds
// per round at 1,000); SPOTFLEET_BURST_FLEETS=100,1000 for BENCHMARKS.md's figures.
var burstSizes = func() []int {
	out := []int{50, 300}
	if env := os.Getenv("SPOTFLEET_BURST_FLEETS"); env != "" {
		out = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 10 {
				panic("SPOTFLEET_BURST_FLEETS: numbers of 10 or more, such as 100,1000")
			}
			out = append(out, n)
		}
	}
	return out
}()

// wideVPC makes a VPC with a /17 subnet in each zone (32,000 addresses each).
func wideVPC(t *testing.T, cfg awssdk.Config, zones []string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var subnets []string
	for i, z := range zones {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, AvailabilityZone: awssdk.String(z),
			CidrBlock: awssdk.String(fmt.Sprintf("10.0.%d.0/17", i*128))})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, awssdk.ToString(sn.Subnet.SubnetId))
	}
	return awssdk.ToString(vpc.Vpc.VpcId), subnets
}

// launchStep is how many instances the burst test has moto launch at a time.
const launchStep = 1000

// grow raises a group's desired capacity to n, launchStep at a time, and returns its
// instances.
func grow(t *testing.T, cfg awssdk.Config, m *manifest.Manifest, group string, n int) []string {
	t.Helper()
	ctx := context.Background()
	a := autoscaling.NewFromConfig(cfg)
	name := aws.Names{Fleet: m.Name}.Group(group)
	for d := 2 * launchStep; ; d += launchStep {
		began := time.Now()
		if _, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: &name, DesiredCapacity: awssdk.Int32(int32(min(d, n)))}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d instances launched in %s", min(d, n), time.Since(began).Round(time.Second))
		if d >= n {
			break
		}
	}
	out, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		ids = append(ids, awssdk.ToString(in.InstanceId))
	}
	return ids
}

// burstDeadline is how long the burst test waits for the interrupted instances to leave the
// load balancer: moto takes tens of seconds a round at 10,000 instances.
func burstDeadline(n int) time.Duration {
	if n > 2000 {
		return 30 * time.Minute
	}
	return 3 * time.Minute
}

// waitRounds waits until the controller has begun k rounds since the counts were reset (a
// round reads the groups once).
func waitRounds(t *testing.T, rec *calls, k int) {
	t.Helper()
	for deadline := time.Now().Add(burstDeadline(10_000)); rec.byAPI()["DescribeAutoScalingGroups"] < k; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not make %d rounds in %s", k, burstDeadline(10_000))
		}
	}
}
