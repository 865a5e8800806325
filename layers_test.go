package spotfleet_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// layers rank the module's packages: a package imports only packages of a lower rank
// (docs/architecture.md draws them). A package missing here fails the test: give it its
// place.
var layers = []struct {
	rank     int
	packages []string
}{
	{0, []string{"clock", "internal/strictyaml", "internal/spotdata", "internal/stats", "internal/iid", "internal/dotenv",
		"internal/chart", "internal/httpserver", "internal/webservice"}},
	{1, []string{""}}, // the root package: domain types and events
	{2, []string{"manifest"}},
	{3, []string{"fleetview", "image"}},
	{4, []string{"agent", "emulator/scenario", "emulator/proc", "emulator/lbhttp", "emulator/loadgen", "emulator/market",
		"emulator/imds", "emulator/sqs", "emulator/baseline", "emulator/account", "emulator/touch"}},
	{5, []string{"emulator", "controller", "aws"}},
	{6, []string{"controller/seeds", "aws/stack", "dashboard"}},
	{7, []string{"local"}},
	{8, []string{"simulate"}},
	// Above the product: the binary, the examples' mains, the benchmarks, and the test
	// harnesses (which no product package may import: only tests do).
	{9, []string{"cmd/spotfleet", "examples/webservice", "bench/marketcheck", "internal/testing/"}},
}

const module = "github.com/spotfleet/spotfleet"

func rankOf(path string) (int, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	for _, l := range layers {
		for _, p := range l.packages {
			if rel == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p)) {
				return l.rank, true
			}
		}
	}
	return 0, false
}

// TestImportsPointDown: no package of the module imports one of its own rank or above (its
// tests may: they sit above what they test), and every package has a rank.
func TestImportsPointDown(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every package of the module")
	}
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedImports, Dir: "."}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("only %d packages loaded", len(pkgs))
	}
	for _, p := range pkgs {
		rank, ok := rankOf(p.PkgPath)
		if !ok {
			t.Errorf("%s has no layer: add it to layers (and to docs/architecture.md)", p.PkgPath)
			continue
		}
		for path := range p.Imports {
			if !strings.HasPrefix(path, module) {
				continue
			}
			r, ok := rankOf(path)
			harness, fromHarness := strings.Contains(path, "/internal/testing/"), strings.Contains(p.PkgPath, "/internal/testing/")
			switch {
			case harness && !fromHarness:
				t.Errorf("%s imports the test harness %s: only tests may", rel(p.PkgPath), rel(path))
			case ok && r >= rank && !(harness && fromHarness):
				t.Errorf("%s (layer %d) imports %s (layer %d): imports point down", rel(p.PkgPath), rank, rel(path), r)
			}
		}
	}
}

func rel(path string) string {
	if r := strings.TrimPrefix(strings.TrimPrefix(path, module), "/"); r != "" {
		return r
	}
	return fmt.Sprintf("%s (root)", module)
}
