package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/dashboard"
	"github.com/spotfleet/spotfleet/internal/httpserver"
	"github.com/spotfleet/spotfleet/internal/iid"
)

func newControllerCmd() *cobra.Command {
	var f awsFlags
	var listen string
	var certs, hosts []string
	cmd := &cobra.Command{
		Use:   "controller -f FILE [--api ADDR]",
		Short: "Run the spotfleet controller against the fleet on AWS",
		Long: `Checks first that the fleet's event queue exists and that its EventBridge rule is enabled
and delivers to it (a misconfiguration is an error that says what to run, not silence),
then runs the controller: interruptions and rebalance recommendations from the queue,
fallback to On-Demand and back. Prometheus metrics (/metrics), health (/healthz), agent
reports (POST /v1/notices) and a read-only dashboard (/, for loopback Host names only: reach
it through an SSH or SSM port forward) are served on --api, loopback by default (agents on
the instances need an address they can reach, such as --api 0.0.0.0:7077). Logs go to stderr
as JSON. Stop it with Ctrl-C or SIGTERM; a restarted controller picks up where this one
left (docs/controller.md). It needs the policy of spotfleet iam-policy.

Without -f, the manifest is read from SPOTFLEET_MANIFEST when it is set: that is how the
controller service apply creates runs (aws.controller). GET /v1/agent/linux/ARCH (ARCH as
uname -m prints it) serves this binary to the instances' agents, for its own architecture.

Run two or more for one fleet, on different hosts: they share a lease in the DynamoDB table
<name>-lease that apply creates. The holder acts; the others answer /healthz, refuse agent
reports (503, the agent retries) and take over within 10 s of the holder's end. Each call
the holder makes is fenced by the lease's token, so one that was paused past its lease
makes none. Without the table it stops and says to run apply: it never acts unfenced.`,
		Example: `  spotfleet controller -f spotfleet.yaml
  curl -s 127.0.0.1:7077/metrics | grep spotfleet_fallback`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.fromEnv = !cmd.Flags().Changed("file")
			m, _, cfg, err := f.load(ctx, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			if err := aws.SelfCheck(ctx, cfg, m); err != nil {
				return err
			}
			account, err := aws.Account(ctx, cfg)
			if err != nil {
				return err
			}
			identity, err := identityVerifier(certs)
			if err != nil {
				return err
			}
			lease := aws.NewLease(cfg, m, nil)
			if err := lease.Check(ctx); err != nil {
				return err
			}
			p := aws.NewProvider(cfg, m)
			c, err := controller.New(controller.Config{Manifest: m, Provider: p, Queue: p, Log: log,
				Account: account, Identity: identity, Lease: lease,
				// A snapshot is a dozen describe calls: every 5 s without events, at once on one.
				Tick: 5 * time.Second})
			if err != nil {
				return err
			}
			mux := http.NewServeMux()
			c.Routes(mux)
			mux.HandleFunc("GET /v1/agent/linux/{arch}", serveAgentBinary)
			dash, err := dashboard.NewReadOnly(dashboard.Observed{Manifest: m, Controller: c, Start: time.Now()}, c.Stats)
			if err != nil {
				return err
			}
			dash.Routes(mux)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--api %s: %w", listen, err)
			}
			// Agents reach it by the fleet's private DNS name or an address; a Host of any
			// other name is a browser sent here by a rebound DNS name.
			controllerHost := strings.TrimPrefix(aws.ControllerURL(m.Name), "http://")
			controllerHost, _, _ = strings.Cut(controllerHost, ":")
			srv := httpserver.New(httpserver.Hosts(mux, httpserver.AddressOr(append(hosts, controllerHost)...)), httpserver.API)
			log.Info("controller running", "fleet", m.Name, "region", cfg.Region, "api", ln.Addr().String())
			// The API serves until the controller stops; an API that fails stops the
			// controller, so that ECS restarts the task rather than leave agents unheard.
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { dash.Run(ctx); return nil })
			g.Go(func() error {
				if err := srv.Serve(ln); err != nil {
					return fmt.Errorf("--api %s: %w", listen, err)
				}
				return nil
			})
			g.Go(func() error {
				defer srv.Close()
				return c.Run(ctx)
			})
			return g.Wait()
		},
	}
	f.add(cmd)
	apiFlag(cmd, &listen, "serve /metrics, /healthz and agents' POST /v1/notices on this address")
	renamed(cmd, "listen", "api")
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "also answer requests for this host name (the API answers addresses, localhost and the fleet's controller.FLEET.spotfleet); repeatable")
	cmd.Flags().StringArrayVar(&certs, "identity-cert", nil, "a PEM file of AWS's certificate for the base64 instance identity signature, for a region with its own (docs/aws.md); repeatable")
	return cmd
}

// identityVerifier trusts AWS's shared certificate and the files given.
func identityVerifier(files []string) (*iid.Verifier, error) {
	var extra [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--identity-cert: %w", err)
		}
		extra = append(extra, b)
	}
	return iid.AWS(extra...)
}

// serveAgentBinary serves this binary to the instances' agents (apply's user data downloads
// it from the controller service): the same build as the controller, for its architecture.
func serveAgentBinary(w http.ResponseWriter, r *http.Request) {
	arch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[r.PathValue("arch")]
	if runtime.GOOS != "linux" || arch != runtime.GOARCH {
		http.Error(w, fmt.Sprintf("no agent binary for linux/%s: this controller runs %s/%s", r.PathValue("arch"), runtime.GOOS, runtime.GOARCH), http.StatusNotFound)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f, err := os.Open(exe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// ~100 MB to every instance that boots: more than the API's write timeout when many
	// boot at once.
	httpserver.Extend(w, 10*time.Minute)
	http.ServeContent(w, r, "spotfleet", st.ModTime(), f)
}

func newHealthcheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "healthcheck URL",
		Short: "Exit 0 when URL answers 2xx within 3s (the controller's container health check)",
		Long: `GETs URL and exits 0 on a 2xx answer within 3 seconds, 1 otherwise. The controller's image
has no shell or curl, so its ECS health check runs this against its own /healthz.`,
		Example: `  spotfleet healthcheck http://127.0.0.1:7077/healthz`,
		Args:    cobra.ExactArgs(1),
		Hidden:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s answered %s", args[0], resp.Status)
			}
			return nil
		},
	}
}
