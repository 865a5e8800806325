// Command webservice runs the example service on its own: HOST=127.0.0.1 PORT=5000 go run ./examples/webservice
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/spotfleet/spotfleet/internal/webservice"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	c, err := webservice.ConfigFromEnv(os.Getenv)
	if err == nil {
		err = webservice.Run(context.Background(), c, log)
	}
	if err != nil {
		log.Error("webservice", "err", err)
		os.Exit(1)
	}
}
