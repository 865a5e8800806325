package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/aws/stack"
	"github.com/spotfleet/spotfleet/image"
	"github.com/spotfleet/spotfleet/manifest"
)

// awsFlags are the flags every command that talks to AWS takes.
type awsFlags struct {
	file, region, profile string
	registry              string // where apply pushes the controller's image instead of ECR
	source                string // the spotfleet source the controller's image is built from
	// fromEnv: the manifest may come in ManifestEnv (the controller's ECS task has no file).
	fromEnv bool
}

func (f *awsFlags) add(cmd *cobra.Command) {
	fileFlag(cmd, &f.file)
	cmd.Flags().StringVar(&f.region, "region", "", "AWS region (default: AWS_REGION or the profile's, else the manifest's)")
	cmd.Flags().StringVar(&f.profile, "profile", "", "AWS profile (default: AWS_PROFILE)")
}

// addRegistry is --registry, for the commands that plan, push or delete the controller's
// image; usage says what the command does with it.
func (f *awsFlags) addRegistry(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVar(&f.registry, "registry", "", usage+" (HOST:PORT, plain HTTP, loopback only: a test registry) instead of the fleet's ECR repository")
}

// addSource is --source, for the commands that build the controller's image.
func (f *awsFlags) addSource(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.source, "source", "", "the spotfleet source directory to build the controller's image from (default: the module around the working directory, else the one this binary was built from, else its release's in the Go module cache)")
}

// accessTimeout bounds the first call to AWS: with no network, the SDK's retries would
// otherwise keep a command silent for over a minute.
const accessTimeout = 10 * time.Second

// load reads the manifest and the AWS configuration (credentials chain, AWS_REGION,
// AWS_PROFILE, AWS_ENDPOINT_URL), and checks that the credentials work and AWS answers. The
// stack reports what it reads on a progress line while on a terminal (errOut's).
func (f *awsFlags) load(ctx context.Context, errOut io.Writer) (*manifest.Manifest, *stack.Stack, awssdk.Config, error) {
	if f.registry != "" && !image.Loopback(f.registry) {
		return nil, nil, awssdk.Config{}, fmt.Errorf("--registry %s: not supported yet: a registry other than ECR or a loopback test one (push with spotfleet image --to, and set aws.controller.image)", f.registry)
	}
	var m *manifest.Manifest
	var err error
	if y := os.Getenv(aws.ManifestEnv); f.fromEnv && y != "" {
		m, err = parseManifest("$"+aws.ManifestEnv, []byte(y), errOut)
	} else {
		m, err = loadManifest(f.file, errOut)
	}
	if err != nil {
		return nil, nil, awssdk.Config{}, err
	}
	cfg, err := aws.LoadConfig(ctx, m.Region, aws.Options{Region: f.region, Profile: f.profile})
	if err != nil {
		return nil, nil, awssdk.Config{}, err
	}
	spin := newSpinner(errOut, "checking AWS credentials ("+cfg.Region+")")
	_, err = aws.CheckAccess(ctx, cfg, accessTimeout)
	spin.end()
	if err != nil {
		return nil, nil, awssdk.Config{}, err
	}
	st := stack.NewStack(cfg, m)
	st.Registry = f.registry
	if c := m.AWS.Controller; c.Deploy && c.Image == "" {
		st.Image = controllerImage(ctx, errOut, f.source)
	}
	st.Reading = func(kind string, i, n int) {
		what := fmt.Sprintf("reading %ss from AWS (%d of %d)", kind, i+1, n)
		switch {
		case kind == "":
			spin.end()
		case i == 0:
			spin = newSpinner(errOut, what)
		default:
			spin.say(what)
		}
	}
	return m, st, cfg, nil
}

func newPlanCmd() *cobra.Command {
	var f awsFlags
	var output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan -f FILE [-o table|json|yaml] [--detailed-exitcode]",
		Short: "Show what apply would create, change or delete on AWS",
		Long: `Reads what exists of the fleet on AWS (by name and the tag spotfleet:fleet=<name>) and
compares it with what the manifest needs: each resource to create, to update (with the fields
that differ, from → to, a list by the elements it gains and loses) or to delete, and a new
resource's attributes. Nothing is changed. Desired capacities and counts are set when a
group or service is created and not compared afterwards (scaling and the controller own
them). A field AWS does not read back is compared with what apply recorded in the tag
spotfleet:applied (docs/aws.md).`,
		Example: `  spotfleet plan -f spotfleet.yaml
  AWS_PROFILE=prod spotfleet plan -f spotfleet.yaml -o json
  spotfleet plan -f spotfleet.yaml --detailed-exitcode >/dev/null; [ $? = 2 ] && echo "drift"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, st, _, err := f.load(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			plan, err := st.Plan(cmd.Context())
			if err != nil {
				return err
			}
			res := newChanges(m.Name, "plan", plan)
			if err := render(cmd.OutOrStdout(), output, res, func(w io.Writer) error { return printPlan(w, plan) }); err != nil {
				return err
			}
			if err := st.Preflight(plan); err != nil {
				return fmt.Errorf("apply would stop: %w", err)
			}
			if detailed && len(plan) > 0 {
				return exitStatus{code: 2}
			}
			return nil
		},
	}
	f.add(cmd)
	f.addRegistry(cmd, "plan the controller's image in this registry")
	f.addSource(cmd)
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on an error (as terraform plan)")
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

// changes is what plan, apply and delete print with -o json or yaml: one schema for the
// three (docs/aws.md).
type changes struct {
	Fleet   string               `json:"fleet"`
	Command string               `json:"command"` // plan, apply or delete
	Changes []changeResult       `json:"changes"`
	Summary map[stack.Action]int `json:"summary"`           // create, update, delete
	Outputs *stack.Outputs       `json:"outputs,omitempty"` // apply's
}

type changeResult struct {
	stack.Change
	Status string `json:"status"` // planned, done, failed
	Error  string `json:"error,omitempty"`
}

func newChanges(fleet, command string, plan []stack.Change) *changes {
	c := &changes{Fleet: fleet, Command: command, Changes: []changeResult{}, Summary: map[stack.Action]int{stack.Create: 0, stack.Update: 0, stack.Delete: 0}}
	for _, x := range plan {
		c.Changes = append(c.Changes, changeResult{Change: x, Status: "planned"})
		c.Summary[x.Action]++
	}
	return c
}

// streams says where a command that works for a while writes: for people, its progress and
// its result both go to stdout (the result is the progress); with -o json or yaml, the
// result alone goes to stdout, for a program to read, and the progress to stderr.
func streams(cmd *cobra.Command, output string) (result, progress io.Writer) {
	if output == "table" {
		return cmd.OutOrStdout(), cmd.OutOrStdout()
	}
	return cmd.OutOrStdout(), cmd.ErrOrStderr()
}

// nothing is the table of apply and delete: what they did is already printed as progress.
func nothing(io.Writer) error { return nil }

// record returns a progress function that records each change's result, and prints it on
// w when w is not nil.
func (c *changes) record(w io.Writer) func(x stack.Change, err error, done bool) {
	print := progress(w)
	return func(x stack.Change, err error, done bool) {
		if w != nil {
			print(x, err, done)
		}
		if !done {
			return
		}
		r := changeResult{Change: x, Status: "done"}
		if err != nil {
			r.Status, r.Error = "failed", err.Error()
		}
		for i := range c.Changes {
			if c.Changes[i].Kind == x.Kind && c.Changes[i].Name == x.Name && c.Changes[i].Status == "planned" {
				c.Changes[i] = r
				return
			}
		}
		c.Changes = append(c.Changes, r)
		if c.Command == "delete" {
			c.Summary[x.Action]++
		}
	}
}

// printPlan shows a plan as Terraform users read one: + create with the new resource's
// attributes, ~ update with each field from → to (a list by the elements it gains and
// loses), - delete; then the count of each.
func printPlan(w io.Writer, plan []stack.Change) error {
	if len(plan) == 0 {
		_, err := fmt.Fprintln(w, "No changes: AWS matches the manifest.")
		return err
	}
	counts := map[stack.Action]int{}
	for _, c := range plan {
		counts[c.Action]++
		fmt.Fprintf(w, "%s %s %s %s\n", actionMarks[c.Action], c.Action, c.Kind, c.Name)
		tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		var texts []stack.Diff
		for _, d := range c.Diffs {
			if d.FromText != "" && d.ToText != "" {
				texts = append(texts, d)
				continue
			}
			fmt.Fprintf(tw, "    %s\t%s\n", d.Field, describeDiff(c.Action, d))
		}
		tw.Flush()
		for _, d := range texts {
			fmt.Fprintf(w, "    %s:\n", d.Field)
			for _, l := range lineDiff(d.FromText, d.ToText) {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	_, err := fmt.Fprintf(w, "\nPlan: %d to create, %d to update, %d to delete.\n", counts[stack.Create], counts[stack.Update], counts[stack.Delete])
	return err
}

// maxDiffLines bounds the texts a plan compares line by line (a manifest is at most 64 KiB).
const maxDiffLines = 3000

// lineDiff is how two texts differ, a line each: "- " for a line only in from, "+ " for one
// only in to, "  " for a line around a change (one of context), "..." between changes.
func lineDiff(from, to string) []string {
	a, b := strings.Split(strings.TrimSuffix(from, "\n"), "\n"), strings.Split(strings.TrimSuffix(to, "\n"), "\n")
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		return []string{fmt.Sprintf("(%d lines → %d lines: too long to compare here)", len(a), len(b))}
	}
	// The longest common subsequence, by the classic table, from the end.
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		mark string
		text string
	}
	var all []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			all = append(all, line{"  ", a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] > lcs[i+1][j]):
			all = append(all, line{"+ ", b[j]})
			j++
		default:
			all = append(all, line{"- ", a[i]})
			i++
		}
	}
	var out []string
	gap := false
	for k, l := range all {
		near := l.mark != "  "
		for _, m := range []int{k - 1, k + 1} {
			near = near || (m >= 0 && m < len(all) && all[m].mark != "  ")
		}
		if !near {
			gap = true
			continue
		}
		if gap && len(out) > 0 {
			out = append(out, "...")
		}
		gap = false
		out = append(out, l.mark+l.text)
	}
	return out
}

var actionMarks = map[stack.Action]string{stack.Create: "+", stack.Update: "~", stack.Delete: "-"}

func describeDiff(action stack.Action, d stack.Diff) string {
	switch {
	case action == stack.Create && d.Added != nil:
		return "= [" + strings.Join(d.Added, ", ") + "]"
	case action == stack.Create:
		return "= " + strconv.Quote(d.To)
	case d.Added != nil || d.Removed != nil:
		var parts []string
		for _, x := range d.Added {
			parts = append(parts, "+ "+x)
		}
		for _, x := range d.Removed {
			parts = append(parts, "- "+x)
		}
		return strings.Join(parts, "  ")
	case d.FromUnknown:
		return "(AWS does not return it; not what was applied) → " + strconv.Quote(d.To)
	}
	return strconv.Quote(d.From) + " → " + strconv.Quote(d.To)
}

// progress prints each resource as it is worked on.
func progress(w io.Writer) func(c stack.Change, err error, done bool) {
	var start time.Time
	return func(c stack.Change, err error, done bool) {
		switch {
		case !done:
			start = time.Now()
			fmt.Fprintf(w, "%-7s %s %s ...\n", c.Action, c.Kind, c.Name)
		case err != nil:
			fmt.Fprintf(w, "  failed: %v\n", err)
		default:
			fmt.Fprintf(w, "  done in %s\n", time.Since(start).Round(time.Millisecond))
		}
	}
}

// confirm asks on a terminal; elsewhere --approve is required.
func confirm(cmd *cobra.Command, approve bool, what string) error {
	if approve {
		return nil
	}
	if !isTerminal(cmd.OutOrStdout()) || !isTerminal(os.Stdin) {
		return errors.New("not a terminal: pass --approve to " + what + " without asking")
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s? Type yes to go on: ", strings.ToUpper(what[:1])+what[1:])
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("cancelled: nothing was changed")
	}
	return nil
}

func newApplyCmd() *cobra.Command {
	var f awsFlags
	var approve bool
	var output string
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--approve] [-o table|json|yaml]",
		Short: "Create or update the fleet's stack on AWS",
		Long: `Plans (as spotfleet plan), shows the plan, asks for confirmation on a terminal (--approve
skips it; it is required without a terminal), then makes the changes in dependency order,
printing each resource as it goes, and ends with the outputs (each service's URL, the event
queue, the cluster, the controller's address; spotfleet outputs prints them again). A
second apply with no change to the manifest reports no changes and calls nothing that
mutates. docs/aws.md lists what is created.

Unless aws.controller.deploy is false, the controller runs as the ECS service
spotfleet-controller (aws.controller.replicas tasks on FARGATE) and the instances run its
agent. Its image is aws.controller.image, or this spotfleet's, which apply builds (a go
build from the source around the working directory, else this binary; about 90 s cold) and
pushes to the fleet's ECR repository when its tag is not there yet; --registry pushes to a
loopback test registry instead.`,
		Example: `  spotfleet apply -f spotfleet.yaml
  spotfleet apply -f spotfleet.yaml --approve --region eu-west-1   # in CI
  spotfleet apply -f spotfleet.yaml --approve --registry 127.0.0.1:5000   # on moto, with a local registry`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChanges(cmd, &f, approve, output, changeFlow{command: "apply", question: "apply these changes",
				plan: func(ctx context.Context, st *stack.Stack) ([]stack.Change, error) {
					plan, err := st.Plan(ctx)
					if err == nil {
						err = st.Preflight(plan) // before the question: nothing changed yet
					}
					return plan, err
				},
				do: func(ctx context.Context, st *stack.Stack, plan []stack.Change, progress func(stack.Change, error, bool)) error {
					return st.Apply(ctx, plan, progress)
				},
				failed: func(res *changes) string {
					done, failed := 0, ""
					for _, c := range res.Changes {
						switch c.Status {
						case "done":
							done++
						case "failed":
							failed = c.Kind + " " + c.Name
						}
					}
					return fmt.Sprintf("apply made %d of the %d changes, then %s failed (above). What was made stays: run spotfleet apply again to go on from there. "+
						"If %s fails again the same way, the error is that resource's and not a passing one: fix what it says, or start over with "+
						"spotfleet delete -f %s --approve (it removes only what carries the fleet's tag) and apply again", done, len(res.Changes), failed, failed, f.file)
				},
				done: func(talk io.Writer, m *manifest.Manifest, _ *changes) {
					if c := m.AWS.Controller; c.Deploy {
						fmt.Fprintf(talk, "Applied. The controller runs as the ECS service %s (%d tasks on FARGATE), logging to the CloudWatch Logs group /spotfleet/%s/%s.\n",
							manifest.ControllerService, c.Replicas, m.Name, manifest.ControllerService)
					} else {
						fmt.Fprintln(talk, "Applied. Run the controller (aws.controller.deploy is false): spotfleet controller -f", f.file)
					}
				},
				outputs: true})
		},
	}
	f.add(cmd)
	f.addRegistry(cmd, "push the controller's image to this registry")
	f.addSource(cmd)
	cmd.Flags().BoolVar(&approve, "approve", false, "apply without asking")
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

// changeFlow is what apply and delete each do in the flow they share (runChanges).
type changeFlow struct {
	command  string // apply, delete
	question string // what confirm asks; %s is the fleet's name
	// plan reads what will change, shown before the question; nil for delete, which reads
	// as it goes.
	plan    func(context.Context, *stack.Stack) ([]stack.Change, error)
	do      func(context.Context, *stack.Stack, []stack.Change, func(stack.Change, error, bool)) error
	failed  func(res *changes) string                                // said after a failure
	done    func(talk io.Writer, m *manifest.Manifest, res *changes) // said after success
	outputs bool                                                     // end with the stack's outputs
}

// runChanges is the flow of a command that changes AWS: read the manifest and the
// credentials, show the plan, ask (or take --approve), make the changes with a line per
// resource, and render what was done, the same way for -o table, json and yaml.
func runChanges(cmd *cobra.Command, f *awsFlags, approve bool, output string, fl changeFlow) error {
	ctx := cmd.Context()
	m, st, _, err := f.load(ctx, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	out, talk := streams(cmd, output)
	var plan []stack.Change
	if fl.plan != nil {
		if plan, err = fl.plan(ctx, st); err != nil {
			return err
		}
		if err := printPlan(talk, plan); err != nil {
			return err
		}
	}
	res := newChanges(m.Name, fl.command, plan)
	if fl.plan == nil || len(plan) > 0 {
		question := fl.question
		if strings.Contains(question, "%s") {
			question = fmt.Sprintf(question, m.Name)
		}
		if err := confirm(cmd, approve, question); err != nil {
			return err
		}
		if err := fl.do(ctx, st, plan, res.record(talk)); err != nil {
			if fl.failed == nil {
				if rerr := render(out, output, res, nothing); rerr != nil {
					return errors.Join(err, rerr)
				}
				return err
			}
			render(out, output, res, nothing)
			return fmt.Errorf("%w\n%s", err, fl.failed(res))
		}
		if fl.done != nil {
			fl.done(talk, m, res)
		}
	}
	if !fl.outputs {
		return render(out, output, res, nothing)
	}
	if res.Outputs, err = st.Outputs(ctx); err != nil {
		return err
	}
	return render(out, output, res, func(w io.Writer) error { return printOutputs(w, res.Outputs) })
}

func newDeleteCmd() *cobra.Command {
	var f awsFlags
	var approve bool
	var output string
	cmd := &cobra.Command{
		Use:   "delete -f FILE [--approve] [-o table|json|yaml]",
		Short: "Delete everything apply created for the fleet",
		Long: `Deletes, in reverse dependency order, every resource of the fleet that carries the tag
spotfleet:fleet=<name> (instances are terminated with their groups, and the fleet's instances
no group holds any more first), and nothing else. Asks
on a terminal; --approve skips it and is required without one.`,
		Example: `  spotfleet delete -f spotfleet.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChanges(cmd, &f, approve, output, changeFlow{command: "delete",
				question: "delete fleet %s and everything apply made for it",
				do: func(ctx context.Context, st *stack.Stack, _ []stack.Change, progress func(stack.Change, error, bool)) error {
					return st.Delete(ctx, progress)
				},
				done: func(talk io.Writer, m *manifest.Manifest, res *changes) {
					if n := res.Summary[stack.Delete]; n > 0 {
						fmt.Fprintf(talk, "\nDeleted %d resources of fleet %s: nothing of it is left on AWS.\n", n, m.Name)
					} else {
						fmt.Fprintf(talk, "Nothing of fleet %s is on AWS (never applied, or already deleted): nothing to delete.\n", m.Name)
					}
				}})
		},
	}
	f.add(cmd)
	f.addRegistry(cmd, "delete the controller's image from this registry")
	cmd.Flags().BoolVar(&approve, "approve", false, "delete without asking")
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

func newOutputsCmd() *cobra.Command {
	var f awsFlags
	var output string
	cmd := &cobra.Command{
		Use:   "outputs -f FILE [-o table|json|yaml]",
		Short: "Print where the applied fleet answers: service URLs, queue, cluster",
		Long: `Reads, from AWS, what apply printed at its end: the load balancer's DNS name and each
service's URL on it, the event queue's URL and the ECS cluster. What does not exist (before
apply, or after a partial one) is left out. Changes nothing.`,
		Example: `  spotfleet outputs -f spotfleet.yaml
  curl "$(spotfleet outputs -f spotfleet.yaml -o json | jq -r '.services[0].url')"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, st, _, err := f.load(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			o, err := st.Outputs(cmd.Context())
			if err != nil {
				return err
			}
			if o.LoadBalancer == "" && o.Queue == "" && o.Cluster == "" && o.Controller == "" {
				return fmt.Errorf("nothing of fleet %s is on AWS (never applied, or deleted): spotfleet apply -f %s makes it", m.Name, f.file)
			}
			return render(cmd.OutOrStdout(), output, o, func(w io.Writer) error { return printOutputs(w, o) })
		},
	}
	f.add(cmd)
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

func printOutputs(w io.Writer, o *stack.Outputs) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nOutputs:")
	for _, sv := range o.Services {
		fmt.Fprintf(tw, "  service %s\t%s\n", sv.Name, orNone(sv.URL, "no load balancer"))
	}
	fmt.Fprintf(tw, "  load balancer\t%s\n", orNone(o.LoadBalancer, "none"))
	fmt.Fprintf(tw, "  event queue\t%s\n", orNone(o.Queue, "none"))
	if o.Cluster != "" {
		fmt.Fprintf(tw, "  ECS cluster\t%s (%s)\n", o.Cluster, o.Region)
	}
	if o.Controller != "" {
		fmt.Fprintf(tw, "  controller\t%s (from inside the VPC)\n", o.Controller)
	}
	if o.ImageRepository != "" {
		fmt.Fprintf(tw, "  controller image repository\t%s (spotfleet image --to %s:TAG)\n", o.ImageRepository, o.ImageRepository)
	}
	return tw.Flush()
}

func orNone(s, none string) string {
	if s == "" {
		return "(" + none + ")"
	}
	return s
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func newIAMPolicyCmd() *cobra.Command {
	var file, region, account string
	cmd := &cobra.Command{
		Use:   "iam-policy -f FILE [--account ID|auto]",
		Short: "Print the least-privilege IAM policy of the controller",
		Long: `Prints, as JSON, the IAM policy that lets spotfleet controller make exactly the calls it
makes for this fleet, the mutating ones limited to the fleet's resources. apply attaches it
to the role <name>-controller; print it to attach it elsewhere.

The resource ARNs name the fleet's account: give it with --account ID (works offline), or
--account auto to read it from the credentials (sts GetCallerIdentity). Without it every
ARN has * as its account, which a warning says: the policy then also reaches resources of
the same names in other accounts that trust the role.`,
		Example: `  spotfleet iam-policy -f spotfleet.yaml --account 123456789012 > controller-policy.json
  spotfleet iam-policy -f spotfleet.yaml --account auto`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := loadManifest(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if region == "" {
				region = m.Region
			}
			switch {
			case account == "":
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: no --account: every ARN has * as its account (give --account ID, or --account auto to read it from the credentials)")
				account = "*"
			case account == "auto":
				ctx, cancel := context.WithTimeout(cmd.Context(), accessTimeout)
				defer cancel()
				cfg, err := aws.LoadConfig(ctx, region, aws.Options{})
				if err == nil {
					account, err = aws.Account(ctx, cfg)
				}
				if err != nil {
					return fmt.Errorf("--account auto: cannot read the account from the credentials: %w (give --account ID)", aws.Explain(err))
				}
			case !accountID.MatchString(account):
				return fmt.Errorf("--account %q: an AWS account ID is 12 digits (or auto)", account)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), stack.ControllerPolicy(m, region, account).JSON())
			return err
		},
	}
	fileFlag(cmd, &file)
	cmd.Flags().StringVar(&region, "region", "", "region of the fleet (default: the manifest's)")
	cmd.Flags().StringVar(&account, "account", "", "AWS account ID to put in the resource ARNs, or auto to read it from the credentials (default: *, with a warning)")
	return cmd
}
