package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is a simulation's result: one Result per manifest × controller.
type Report struct {
	Market      string   `json:"market"`
	Days        float64  `json:"days"`
	Runs        int      `json:"runs"`
	Seed        uint64   `json:"seed"`
	Results     []Result `json:"results"`
	WallSeconds float64  `json:"wallSeconds"`
}

// JSON renders the report; the same options give the same bytes but for the wall times.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteTable prints one line per manifest × controller: the means, and the intervals of the
// figures that decide (cost and availability).
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "market %s, %g days, %d runs from seed %d (means; [95%% interval])\n", r.Market, r.Days, r.Runs, r.Seed)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MANIFEST\tCONTROLLER\tCOST $\tSAVED\tAVAILABLE\tOUTAGE P99/MAX\tSHORT TASK-H\tINTERRUPTIONS/1000H\tON-DEMAND\tEXCESS OD-H\tREACTION P50\tBACK TO SPOT P50")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f [%.2f, %.2f]\t%.1f%%\t%.3f%% [%.3f, %.3f]\t%s/%s\t%.2f\t%.1f\t%.1f%%\t%.1f\t%s\t%s\n",
			x.Manifest, x.Controller, x.CostUSD.Mean, x.CostUSD.CI95[0], x.CostUSD.CI95[1], x.SavingsPercent.Mean,
			x.AvailabilityPercent.Mean, x.AvailabilityPercent.CI95[0], x.AvailabilityPercent.CI95[1],
			dur(x.OutageP99Seconds.Mean), dur(x.OutageMaxSeconds.Mean), x.ShortfallTaskHours.Mean,
			x.InterruptionsPer1000InstanceHours.Mean, x.OnDemandSharePercent.Mean, x.OnDemandExcessInstanceHours.Mean,
			optional(x.ReactionP50Seconds), optional(x.BackToSpotP50Seconds))
	}
	return tw.Flush()
}

// dur prints seconds as a short duration.
func dur(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 120:
		return fmt.Sprintf("%.0fs", s)
	case s < 7200:
		return fmt.Sprintf("%.0fm", s/60)
	}
	return fmt.Sprintf("%.1fh", s/3600)
}

// optional prints a figure only some runs have, saying so when none has it.
func optional(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	return dur(s.Mean)
}
