package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/controller/seeds"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/iid"
	"github.com/spotfleet/spotfleet/manifest"
	"github.com/spotfleet/spotfleet/simulate"
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
	if kind == simulate.None {
		return nil, nil
	}
	f, err := os.Create(filepath.Join(logDir, "controller.log"))
	if err != nil {
		return nil, err
	}
	cfg := controller.Config{Manifest: m, Provider: e, Queue: e.Queue(), Clock: clk, Account: emulator.AccountID,
		Log: slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	// Agents prove who they are with the identity documents the emulator's metadata
	// services sign.
	cert, err := e.IdentityCertificate()
	if err == nil {
		cfg.Identity, err = iid.NewVerifier(cert)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	run := func(r interface{ Run(context.Context) error }) {
		g.Go(func() error {
			defer f.Close()
			return r.Run(ctx)
		})
	}
	if kind == simulate.Seed {
		s, err := seeds.New(cfg)
		if err != nil {
			f.Close()
			return nil, err
		}
		run(s)
		return nil, nil
	}
	c, err := controller.New(cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the controller: %w", err)
	}
	run(c)
	return c, nil
}
