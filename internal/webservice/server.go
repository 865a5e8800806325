// Package webservice is the example service of reference design S3: a small web app that
// answers / and /healthcheck on $HOST:$PORT and shuts down gracefully on SIGTERM, as every
// service on Spot should (S4). `spotfleet example-service` and cmd/webservice run it.
package webservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is what the service reads from its environment.
type Config struct {
	Addr        string        // HOST:PORT to listen on
	InstanceID  string        // reported by /; from INSTANCE_ID, else the metadata service
	TaskID      string        // reported by /; from TASK_ID
	StopTimeout time.Duration // how long in-flight requests may take after SIGTERM (STOP_TIMEOUT)
	// ShutdownDelay is how long it keeps accepting after SIGTERM (its health check failing)
	// before it stops (SHUTDOWN_DELAY, default 0). Where SIGTERM can come while the load
	// balancer still routes to it (Fargate Spot sends it with the interruption warning),
	// this covers the moment until its target is deregistered.
	ShutdownDelay time.Duration
}

// ConfigFromEnv reads HOST (default 0.0.0.0), PORT (default 5000), INSTANCE_ID, TASK_ID,
// STOP_TIMEOUT (default 30s, the ECS default) and SHUTDOWN_DELAY (default 0).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	host, port := getenv("HOST"), getenv("PORT")
	if host == "" {
		host = "0.0.0.0"
	}
	if port == "" {
		port = "5000"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return Config{}, fmt.Errorf("PORT=%q is not a port number", port)
	}
	c := Config{Addr: net.JoinHostPort(host, port), InstanceID: getenv("INSTANCE_ID"), TaskID: getenv("TASK_ID"), StopTimeout: 30 * time.Second}
	if s := getenv("STOP_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Config{}, fmt.Errorf("STOP_TIMEOUT=%q is not a duration such as 30s", s)
		}
		c.StopTimeout = d
	}
	if s := getenv("SHUTDOWN_DELAY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("SHUTDOWN_DELAY=%q is not a duration such as 2s", s)
		}
		c.ShutdownDelay = d
	}
	if c.InstanceID == "" {
		c.InstanceID = instanceIDFromMetadata(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
	}
	return c, nil
}

// instanceIDFromMetadata asks the instance metadata service (IMDSv2) for the instance ID,
// briefly: off EC2 there is none, and the service must start anyway.
func instanceIDFromMetadata(endpoint string) string {
	if endpoint == "" {
		endpoint = "http://169.254.169.254"
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := client.Do(req)
	if err != nil {
		return "unknown"
	}
	token, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, endpoint+"/latest/meta-data/instance-id", nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(token))
	resp, err = client.Do(req)
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	id, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode != http.StatusOK {
		return "unknown"
	}
	return string(id)
}

// maxDelay bounds the ?delay= a caller can ask for, so a request cannot pin a task forever.
const maxDelay = 60 * time.Second

// Handler serves / and /healthcheck. shuttingDown makes /healthcheck fail once SIGTERM came,
// so a load balancer that still checks stops routing here.
func Handler(c Config, shuttingDown *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthcheck", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Expires", "0")
		if shuttingDown.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// ?delay=2s holds the request, to show that in-flight requests finish on SIGTERM.
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil && d > 0 {
			select {
			case <-time.After(min(d, maxDelay)):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"instance": c.InstanceID, "task": c.TaskID, "path": r.URL.Path})
	})
	return cors(mux)
}

func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "*")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends or SIGTERM/SIGINT arrives, then stops accepting, lets in-flight
// requests finish within the stop timeout, and returns nil on a clean stop.
func Run(ctx context.Context, c Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	var shuttingDown atomic.Bool
	srv := &http.Server{Handler: Handler(c, &shuttingDown), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "instance", c.InstanceID, "task", c.TaskID)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shuttingDown.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), c.StopTimeout)
	defer cancel()
	if c.ShutdownDelay > 0 {
		log.Info("stopping: serving a while longer", "delay", c.ShutdownDelay)
		select {
		case <-time.After(c.ShutdownDelay):
		case <-sctx.Done():
		}
	}
	log.Info("stopping: finishing in-flight requests", "timeout", c.StopTimeout)
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("requests still in flight after %s: %w", c.StopTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}
