package manifest

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/manifest.md")

func TestReferenceIsCurrent(t *testing.T) {
	const path = "../docs/manifest.md"
	want := Reference()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is out of date: go test ./manifest -run TestReferenceIsCurrent -update", path)
	}
}
