// Package spotdata holds real public EC2 data for us-east-1: every instance type's vCPUs,
// memory, On-Demand price and Spot Advisor interruption band and savings.
//
// The embedded table is a copy of shared/data/spot/us-east-1-ondemand-and-advisor.csv:
// On-Demand Linux prices from aws/karpenter-provider-aws generated pricing (2026-07-20,
// Apache-2.0), joined with the AWS Spot Instance Advisor feed of 2025-06-28. The sources
// are a year apart, so Spot prices derived from them are an approximation.
package spotdata

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed us-east-1-ondemand-and-advisor.csv
var table string

// InstanceType is one row of the table.
type InstanceType struct {
	Name        string
	VCPU        int
	MemoryMiB   int
	Arch        string
	OnDemandUSD float64 // per hour, Linux, us-east-1
	SavingsPct  int     // Spot Advisor: percent saved against On-Demand; 0 means no data
	Band        int     // Spot Advisor interruption band: 0 <5%, 1 5-10%, 2 10-15%, 3 15-20%, 4 >20% a month
}

// SpotUSD is the Spot price the advisor's savings imply: On-Demand × (1 − savings).
// Types with no advisor data are priced at 70% of On-Demand, inside the 35-80% discount
// range that shared/data/spot/README.md gives for Spot.
func (t InstanceType) SpotUSD() float64 {
	s := t.SavingsPct
	if s <= 0 {
		s = 30
	}
	return t.OnDemandUSD * float64(100-s) / 100
}

// MonthlyInterruptionRate is the middle of the advisor band: the share of this type's Spot
// instances interrupted in a month (band 4, ">20%", is taken as 25%).
func (t InstanceType) MonthlyInterruptionRate() float64 {
	return []float64{0.025, 0.075, 0.125, 0.175, 0.25}[min(max(t.Band, 0), 4)]
}

var load = sync.OnceValues(func() (map[string]InstanceType, error) {
	rows, err := csv.NewReader(strings.NewReader(table)).ReadAll()
	if err != nil {
		return nil, err
	}
	out := make(map[string]InstanceType, len(rows))
	for i, r := range rows[1:] {
		// instance_type,vcpu,memory_mib,arch,gpu_count,ondemand_usd_hr,advisor_savings_pct,
		// advisor_interruption_band,advisor_band_index,approx_spot_usd_hr
		t := InstanceType{Name: r[0], Arch: r[3]}
		var errs [5]error
		t.VCPU, errs[0] = strconv.Atoi(r[1])
		t.MemoryMiB, errs[1] = strconv.Atoi(r[2])
		t.OnDemandUSD, errs[2] = strconv.ParseFloat(r[5], 64)
		t.SavingsPct, errs[3] = strconv.Atoi(r[6])
		t.Band, errs[4] = strconv.Atoi(r[8])
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("spotdata: row %d (%s): %w", i+2, r[0], e)
			}
		}
		out[t.Name] = t
	}
	return out, nil
})

// Lookup finds an instance type by name.
func Lookup(name string) (InstanceType, bool) {
	m, err := load()
	if err != nil {
		panic(err) // the table is embedded; a parse failure is a build defect caught by tests
	}
	t, ok := m[name]
	return t, ok
}

// Names lists every known instance type, sorted.
func Names() []string {
	m, _ := load()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Family is the instance family of a type: m5 of m5.large, p3 of p3.16xlarge.
func Family(name string) string {
	f, _, _ := strings.Cut(name, ".")
	return f
}

// Accelerated says whether a type is of an accelerated family (GPU, Inferentia, Trainium,
// FPGA, video transcoding): their Spot capacity is measured by the GPU traces, the others'
// by the CPU ones.
func Accelerated(name string) bool {
	f := Family(name)
	for _, p := range []string{"p", "g", "inf", "trn", "dl", "f", "vt"} {
		if rest, ok := strings.CutPrefix(f, p); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	return false
}
