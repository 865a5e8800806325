package aws

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
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/spotfleet/spotfleet"
)

// TestCallsOfABurst counts, by API, the AWS calls the controller makes for a burst of
// interruptions (a tenth of the Spot instances at once, each out of the load balancer at
// once) on fleets of two sizes on moto (burstSizes). The calls that change something are batched by
// AWS's per-call limits, so per notice they do not grow with the fleet: this fails if they
// do. The reads are logged (go test -v): a round re-reads the whole fleet, so they grow
// with it, which is #17's open part.
func TestCallsOfABurst(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 instances on moto")
	}
	perNotice := map[int]float64{}
	for _, n := range burstSizes {
		rec := &calls{}
		cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
		m := example(t, "s2-web-app-spot-instances-alb.yaml")
		m.AWS.Controller.Deploy = false
		g := &m.Capacity[0]
		g.MinSize, g.MaxSize, g.DesiredCapacity = n, n, n
		spot := fleetOnMoto(t, cfg, m)[g.Name]
		plain, err := LoadConfig(context.Background(), "us-east-1", Options{}) // the test's own calls, not counted
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
		runController(t, cfg, m)
		time.Sleep(2 * time.Second) // its first rounds
		rec.reset()

		k := n / 10
		began := time.Now()
		sender := NewProvider(plain, m)
		for i, id := range spot[:k] {
			body := eventAt(t, time.Now().Add(-110*time.Second), fmt.Sprintf("e-%d", i), spotfleet.DetailSpotInterruption, "aws.ec2", interruption(id))
			if err := sender.SendMessage(context.Background(), body); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(3 * time.Minute); registered(spot[:k]) > 0; time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				rec.mu.Lock()
				seen := slices.Compact(slices.Sorted(slices.Values(rec.seen)))
				rec.mu.Unlock()
				t.Fatalf("n=%d: %d of %d targets still registered after 3 minutes; the controller called %v", n, registered(spot[:k]), k, seen)
			}
		}
		took := time.Since(began)

		rec.mu.Lock()
		byAPI := map[string]int{}
		for _, a := range rec.seen {
			byAPI[a]++
		}
		rec.mu.Unlock()
		changing, reads := 0, 0
		var line []string
		for _, a := range slices.Sorted(maps.Keys(byAPI)) {
			line = append(line, fmt.Sprintf("%s %d", a, byAPI[a]))
			switch {
			case queueCalls[a]: // the queue's bookkeeping: per message, and per 30 s held
			case strings.HasPrefix(a, "Describe") || strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Get"):
				reads += byAPI[a]
			default:
				changing += byAPI[a]
			}
		}
		perNotice[n] = float64(changing) / float64(k)
		t.Logf("n=%d instances, %d notices, all out of the load balancer in %s: %.2f changing calls and %.2f reads a notice; by API: %s",
			n, k, took.Round(100*time.Millisecond), perNotice[n], float64(reads)/float64(k), strings.Join(line, ", "))
	}
	small, large := burstSizes[0], burstSizes[len(burstSizes)-1]
	if perNotice[large] > perNotice[small]*1.25+0.1 {
		t.Errorf("changing calls a notice grew with the fleet: %.2f at %d instances, %.2f at %d", perNotice[small], small, perNotice[large], large)
	}
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
