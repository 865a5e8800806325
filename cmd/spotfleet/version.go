package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at release time (.goreleaser.yaml): -ldflags "-X main.version=v1.2.3 -X main.commit=...
// -X main.date=...". A go build or go install leaves them empty, and the build info says
// what it can.
var version, commit, date = "", "", ""

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version [-o table|json|yaml]",
		Short: "Print the version of spotfleet",
		Long: `Prints the version, the commit it was built from (with "-dirty" when the tree had
uncommitted changes), when it was built (a release) or committed (a go build), the Go
version, the platform, and whether the binary is static (built with CGO_ENABLED=0: it can
go into the controller's image as it is; a cgo build makes the image from source, see
apply --source).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			return render(cmd.OutOrStdout(), output, v, func(w io.Writer) error {
				kind := "static"
				if !v.Static {
					kind = "cgo"
				}
				_, err := fmt.Fprintf(w, "spotfleet %s (commit %s, %s; %s %s/%s, %s)\n", v.Version, or(v.Commit, "unknown"),
					or(v.BuiltAt, or(v.CommittedAt, "date unknown")), v.Go, v.OS, v.Arch, kind)
				return err
			})
		},
	}
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

type versionInfo struct {
	Version     string `json:"version"`
	Commit      string `json:"commit,omitempty"`
	BuiltAt     string `json:"builtAt,omitempty"`     // a release's build time
	CommittedAt string `json:"committedAt,omitempty"` // the commit's time, from the build info
	Go          string `json:"go"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Static      bool   `json:"static"` // built with CGO_ENABLED=0
}

func readVersion() versionInfo {
	v := versionInfo{Version: versionString(), Commit: commit, BuiltAt: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "CGO_ENABLED":
			v.Static = s.Value == "0"
		case "vcs.revision":
			if v.Commit == "" {
				v.Commit = s.Value
			}
		case "vcs.time":
			v.CommittedAt = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && commit == "" && v.Commit != "" {
		v.Commit += "-dirty"
	}
	return v
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
