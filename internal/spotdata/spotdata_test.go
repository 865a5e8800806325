package spotdata

import (
	"math"
	"testing"
)

func TestTableParses(t *testing.T) {
	if _, err := load(); err != nil {
		t.Fatal(err)
	}
	if got := len(Names()); got < 800 {
		t.Fatalf("got %d instance types, want the whole table (~894)", got)
	}
}

func TestLookupM5Large(t *testing.T) {
	got, ok := Lookup("m5.large")
	if !ok {
		t.Fatal("m5.large not found")
	}
	// The row in shared/data/spot/us-east-1-ondemand-and-advisor.csv.
	want := InstanceType{Name: "m5.large", VCPU: 2, MemoryMiB: 8192, Arch: "amd64", OnDemandUSD: 0.096, SavingsPct: 66, Band: 3}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if spot := got.SpotUSD(); math.Abs(spot-0.03264) > 1e-9 {
		t.Fatalf("SpotUSD = %v, want 0.03264 (the table's approx_spot_usd_hr)", spot)
	}
	if r := got.MonthlyInterruptionRate(); r != 0.175 {
		t.Fatalf("band 3 rate = %v, want 0.175", r)
	}
}
