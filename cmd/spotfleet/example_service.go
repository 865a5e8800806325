package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/internal/webservice"
)

func newExampleServiceCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "example-service",
		Short: "Run the example web service (what the examples' tasks run)",
		Long: `Runs the example service (internal/webservice; go run ./examples/webservice runs it alone): / answers with the instance and task
that served it (?delay=2s holds the request), /healthcheck answers with no-cache headers,
CORS on every route. It listens on $HOST:$PORT (default 0.0.0.0:5000) and on SIGTERM fails
its health check, keeps serving for $SHUTDOWN_DELAY (default 0: on Fargate Spot, where
SIGTERM comes with the warning, a few seconds until the load balancer stops sending), stops
accepting, finishes in-flight requests within $STOP_TIMEOUT (default 30s) and exits 0.

On the emulator, a command whose program is "spotfleet" runs this same binary, so the
examples need nothing built beforehand.`,
		Example: `  HOST=127.0.0.1 PORT=5000 spotfleet example-service`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := webservice.ConfigFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			return webservice.Run(cmd.Context(), c, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		},
	}
}
