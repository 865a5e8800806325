package manifest

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func examples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("want the 5 example manifests, got %v (%v)", files, err)
	}
	return files
}

// TestExamplesValidateCleanly: every reference design's example has no error and no warning.
func TestExamplesValidateCleanly(t *testing.T) {
	for _, f := range examples(t) {
		m, diags, err := Load(f)
		if err != nil || len(diags) > 0 {
			t.Errorf("%s: %v %v", f, err, diags)
			continue
		}
		roundTrip(t, f, m)
	}
}

// roundTrip checks that the effective manifest, printed as YAML or JSON, parses back to
// the same manifest (what `validate -o yaml` promises).
func roundTrip(t *testing.T, name string, m *Manifest) {
	t.Helper()
	y, err := m.YAML()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	again, diags := Parse(name+" (effective)", y)
	if len(diags.Errors()) > 0 {
		t.Fatalf("%s: effective manifest does not validate: %v\n%s", name, diags, y)
	}
	if diff := cmp.Diff(m, again, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: YAML round trip changed the manifest (-before +after):\n%s", name, diff)
	}
	j, err := m.JSON()
	if err != nil || !json.Valid(j) {
		t.Fatalf("%s: JSON: %v\n%s", name, err, j)
	}
	fromJSON, diags := Parse(name+" (json)", j) // JSON is YAML
	if len(diags.Errors()) > 0 || !reflect.DeepEqual(normalize(m), normalize(fromJSON)) {
		t.Errorf("%s: JSON round trip: %v\n%s", name, diags, j)
	}
}

func normalize(m *Manifest) string {
	y, _ := m.YAML()
	return string(y)
}

func TestTemplatesValidateCleanly(t *testing.T) {
	for _, w := range []Workload{WorkloadECS, WorkloadInstances} {
		text, err := Template(string(w))
		if err != nil {
			t.Fatal(err)
		}
		m, diags := Parse("init-"+string(w), []byte(text))
		if len(diags) > 0 {
			t.Errorf("init --workload %s: %v", w, diags)
		}
		if m.Workload != w {
			t.Errorf("init --workload %s produced workload %s", w, m.Workload)
		}
	}
	if _, err := Template("lambda"); err == nil {
		t.Error("Template(lambda): want an error")
	}
}

func TestSchemaCoversEveryField(t *testing.T) {
	s := Schema()
	props := s["properties"].(map[string]any)
	if s["additionalProperties"] != false || len(props) != reflect.TypeFor[Manifest]().NumField() {
		t.Fatalf("schema root: additionalProperties=%v, %d properties", s["additionalProperties"], len(props))
	}
	capItems := props["capacity"].(map[string]any)["items"].(map[string]any)
	strategy := capItems["properties"].(map[string]any)["spotAllocationStrategy"].(map[string]any)
	if diff := cmp.Diff([]string{string(LowestPrice), string(Diversified), string(CapacityOptimized), string(PriceCapacityOptimized)}, strategy["enum"]); diff != "" {
		t.Errorf("strategy enum: %s", diff)
	}
	it := capItems["properties"].(map[string]any)["instanceTypes"].(map[string]any)["items"].(map[string]any)
	if _, ok := it["oneOf"]; !ok {
		t.Errorf("instanceTypes items should accept a name or {type, weight}: %v", it)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatal(err)
	}
}
