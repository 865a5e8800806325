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
	Intensity   float64  `json:"intensity"`
	Baseline    string   `json:"baseline,omitempty"`
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

// WriteTable prints one line per manifest × controller (means, the intervals of the
// figures that decide, and how bad the worst run was), the services one by one when a
// manifest has several, and each row against its baseline, run by run.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "market %s (intensity %g), %g days, %d runs from seed %d: run i is the same market for every row\n",
		r.Market, r.Intensity, r.Days, r.Runs, r.Seed)
	fmt.Fprintln(w, "means [95% interval]; availability: share of time every service served its desired count; failed: share of requests")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MANIFEST\tCONTROLLER\tCOST $\tSAVED VS OD FLEET\tAVAILABLE %\tP5 / WORST\tFAILED REQ % (WORST)\tSTOPPED REGISTERED\tINTERRUPTIONS\tON-DEMAND\tREACTION P50\tBACK TO SPOT P50")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f [%.2f, %.2f]\t%.1f%%\t%.3f [%.3f, %.3f]\t%.3f / %.3f\t%.4f (%.4f)\t%.1f\t%.1f\t%.1f%%\t%s\t%s\n",
			x.Manifest, x.Controller, x.CostUSD.Mean, x.CostUSD.CI95[0], x.CostUSD.CI95[1], x.SavedAgainstOnDemandFleetPercent.Mean,
			x.AvailabilityPercent.Mean, x.AvailabilityPercent.CI95[0], x.AvailabilityPercent.CI95[1],
			x.AvailabilityPercent.P5, x.AvailabilityPercent.Min, x.RequestsFailedPercent.Mean, x.RequestsFailedPercent.Max,
			x.TasksStoppedWhileRegistered.Mean, x.Interruptions.Mean, x.OnDemandSharePercent.Mean,
			optional(x.ReactionP50Seconds), optional(x.BackToSpotP50Seconds))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.several() {
		fmt.Fprintln(w, "\nby service:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MANIFEST\tCONTROLLER\tSERVICE\tAVAILABLE %\tWORST\tFAILED REQ %\tWORST")
		for _, x := range r.Results {
			for _, s := range x.Services {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%.4f\t%.4f\n", x.Manifest, x.Controller, s.Name,
					s.AvailabilityPercent.Mean, s.AvailabilityPercent.Min, s.RequestsFailedPercent.Mean, s.RequestsFailedPercent.Max)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if r.Baseline == "" {
		return nil
	}
	fmt.Fprintf(w, "\nagainst %s, run by run (this row minus the baseline's, mean [95%% interval]):\n", r.Baseline)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MANIFEST\tCONTROLLER\tBASELINE\tCOST $\tAVAILABLE % POINTS\tFAILED REQ % POINTS\tSTOPPED REGISTERED")
	for _, x := range r.Results {
		c := x.VsBaseline
		if c == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%+.2f [%+.2f, %+.2f]\t%+.4f [%+.4f, %+.4f]\t%+.4f [%+.4f, %+.4f]\t%+.1f [%+.1f, %+.1f]\n",
			x.Manifest, x.Controller, c.Baseline, c.CostUSD.Mean, c.CostUSD.CI95[0], c.CostUSD.CI95[1],
			c.AvailabilityPercent.Mean, c.AvailabilityPercent.CI95[0], c.AvailabilityPercent.CI95[1],
			c.RequestsFailedPercent.Mean, c.RequestsFailedPercent.CI95[0], c.RequestsFailedPercent.CI95[1],
			c.TasksStoppedWhileRegistered.Mean, c.TasksStoppedWhileRegistered.CI95[0], c.TasksStoppedWhileRegistered.CI95[1])
	}
	return tw.Flush()
}

// several says whether some manifest has more than one service.
func (r *Report) several() bool {
	for _, x := range r.Results {
		if len(x.Services) > 1 {
			return true
		}
	}
	return false
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
