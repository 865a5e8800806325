package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
	"golang.org/x/sync/errgroup"
)

// upReport is the emulator's report with what the controller counted.
type upReport struct {
	fleetview.Report
	ControllerStats *controller.Stats `json:"controllerStats,omitempty"`
}

// startController runs the chosen controller against the emulator in g until ctx ends;
// its log goes to controller.log beside the task output. It returns the spotfleet
// controller (nil for seed and none), whose metrics and agent endpoint the API serves.
func startController(ctx context.Context, g *errgroup.Group, kind string, m *manifest.Manifest, e *emulator.Emulator, clk clock.Clock, logDir string) (*controller.Controller, error) {
	k, err := local.ParseKind(kind)
	if err != nil || k == local.None {
		return nil, err
	}
	f, err := os.Create(filepath.Join(logDir, "controller.log"))
	if err != nil {
		return nil, err
	}
	cfg := local.Config(m, e, clk, slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := local.TrustAgents(&cfg, e); err != nil {
		f.Close()
		return nil, err
	}
	c, err := local.New(k, cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the controller: %w", err)
	}
	g.Go(func() error {
		defer f.Close()
		return c.Run(ctx)
	})
	return c.Spotfleet(), nil
}
