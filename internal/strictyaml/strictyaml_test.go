package strictyaml

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type inner struct {
	Size int      `yaml:"size" default:"3" min:"1" max:"9"`
	Wait Duration `yaml:"wait" default:"5s"`
}

type doc struct {
	Name  string            `yaml:"name" required:"true"`
	Kind  string            `yaml:"kind" default:"a" enum:"a,b"`
	Items []inner           `yaml:"items"`
	Env   map[string]string `yaml:"env"`
	Inner inner             `yaml:"inner"`
	Ptr   *inner            `yaml:"ptr"`
	Rate  float64           `yaml:"rate"`
	On    bool              `yaml:"on"`
}

func decodeDoc(t *testing.T, src string) (doc, []string) {
	t.Helper()
	var d doc
	_, diags := Decode("d.yaml", []byte(src), &d)
	var out []string
	for _, x := range diags {
		out = append(out, x.String())
	}
	return d, out
}

func TestDecodeDefaultsAndAliases(t *testing.T) {
	got, diags := decodeDoc(t, "name: &n x\nitems:\n  - &i {size: 2}\n  - *i\n  -\nenv: {PORT: 5000, DEBUG: true, NAME: *n}\nrate: 1\non: true\n")
	if diags != nil {
		t.Fatal(diags)
	}
	want := doc{Name: "x", Kind: "a",
		Items: []inner{{Size: 2, Wait: Duration(5 * time.Second)}, {Size: 2, Wait: Duration(5 * time.Second)}, {Size: 3, Wait: Duration(5 * time.Second)}},
		Env:   map[string]string{"PORT": "5000", "DEBUG": "true", "NAME": "x"},
		Inner: inner{Size: 3, Wait: Duration(5 * time.Second)}, Rate: 1, On: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestDecodeReportsEverythingAtOnce(t *testing.T) {
	got, diags := decodeDoc(t, "kind: c\nitems: {size: 1}\ninner: {size: 10, wait: 1}\nptr: [1]\nenv: {A: [1]}\nrate: x\non: yes\nextra: 1\n")
	want := []string{
		`d.yaml:1:7: kind: "c" is not a valid value (one of: a, b)`,
		`d.yaml:2:8: items: expected a list, got a mapping (write [a, b] or one "- item" per line)`,
		`d.yaml:3:15: size: 10 is out of range: must be between 1 and 9`,
		`d.yaml:3:25: wait: expected a duration, got the number 1 (a number needs a unit: 1s)`,
		`d.yaml:4:6: ptr: expected a mapping (key: value lines), got a list`,
		`d.yaml:5:10: A: expected a plain value, got a list`,
		`d.yaml:6:7: rate: expected a number, got the string "x"`,
		`d.yaml:7:5: on: expected true or false, got the string "yes"`,
		`d.yaml:8:1: unknown field "extra" (known fields: name, kind, items, env, inner, ptr, rate, on)`,
		`d.yaml:1:1: the document: missing required field "name"`,
	}
	if diff := cmp.Diff(want, diags); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// A value that failed holds its default, so later checks see a sane value.
	if got.Kind != "a" || got.Inner.Size != 3 || got.Inner.Wait.D() != 5*time.Second {
		t.Errorf("failed values should fall back to defaults: %+v", got)
	}
}

func TestBillionLaughsIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i < 30; i++ {
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [*a" + strconv.Itoa(i-1) + ", *a" + strconv.Itoa(i-1) + "]\n")
	}
	var v struct{}
	done := make(chan struct{})
	go func() { Decode("bomb.yaml", []byte(b.String()), &v); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("alias expansion ran away")
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"onDemandBaseCapacity", "onDemandPercentageAboveBaseCapacity", "minSize", "maxSize", "spot"}
	for in, want := range map[string]string{
		"onDemandBase": "onDemandBaseCapacity", "minsize": "minSize", "maxSzie": "maxSize",
		"spto": "spot", "colour": "", "x": "",
	} {
		if got := Suggest(in, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", 5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Second: "1m30s", 0: "0s", 1500 * time.Millisecond: "1.5s"} {
		if got := Duration(d).String(); got != want {
			t.Errorf("%v: got %q want %q", d, got, want)
		}
		back, err := time.ParseDuration(Duration(d).String())
		if err != nil || back != d {
			t.Errorf("%v does not parse back: %v %v", d, back, err)
		}
	}
}
