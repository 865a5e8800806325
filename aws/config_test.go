package aws

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// TestSDKWarningsAreDebug: the SDK's warnings go to the log at debug level, not to the
// user's terminal as they did ("WARN falling back to IMDSv1").
func TestSDKWarningsAreDebug(t *testing.T) {
	cfg, err := LoadConfig(context.Background(), "us-east-1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	defer func(l *slog.Logger) { slog.SetDefault(l) }(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg.Logger.Logf(logging.Warn, "falling back to IMDSv1: %s", "test")
	if out.Len() != 0 {
		t.Errorf("a warning of the SDK reached the log at info level: %q", out.String())
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cfg.Logger.Logf(logging.Warn, "falling back to IMDSv1: %s", "test")
	if !strings.Contains(out.String(), "falling back to IMDSv1: test") {
		t.Errorf("at debug level: %q", out.String())
	}
}
