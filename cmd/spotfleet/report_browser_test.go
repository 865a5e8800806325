package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSimulationReportInABrowser opens simulate's HTML page in headless Chromium at 1400
// and at 420 pixels: the page never scrolls sideways (the table scrolls in its own box,
// every column reachable), the legends sit beside the charts (none inside an SVG), and a
// month of S1 and S3 under three controllers on the stress market is a page of kilobytes,
// not megabytes. A screenshot goes to docs/simulation-report.png with SPOTFLEET_SCREENSHOT=1.
func TestSimulationReportInABrowser(t *testing.T) {
	chrome := browser(t)
	bin := buildSpotfleet(t)
	page := filepath.Join(t.TempDir(), "report.html")
	if out, err := exec.Command(bin, "simulate", "-f", "../../examples/s1-spot-with-ondemand-backup.yaml", "-f", "../../examples/s3-ecs-service-autoscaled.yaml",
		"--days", "30", "--runs", "4", "--market", "stress", "--html", page).CombinedOutput(); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	info, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 1<<20 {
		t.Errorf("the page is %d bytes: more than a megabyte", info.Size())
	}
	for _, width := range []int{1400, 420} {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(width, 1000))
		actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel2 := chromedp.NewContext(actx)
		ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
		var pageWide, viewport, tableWide, boxWide, legendsInSVG, legends, charts int
		var overflow string
		var png []byte
		err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 1000), chromedp.Navigate("file://"+page))
		for _, q := range []struct {
			expr string
			to   *int
		}{
			{`document.documentElement.scrollWidth`, &pageWide},
			{`window.innerWidth`, &viewport},
			{`document.getElementById("results").scrollWidth`, &tableWide},
			{`document.querySelector(".scroll").clientWidth`, &boxWide},
			{`document.querySelectorAll("svg .legend, svg text.legend").length`, &legendsInSVG},
			{`document.querySelectorAll("ul.legend").length`, &legends},
			{`document.querySelectorAll("figure svg").length`, &charts},
		} {
			if err == nil {
				*q.to, err = chromedp.Run(ctx, chromedp.Evaluate[int](q.expr))
			}
		}
		if err == nil {
			overflow, err = chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".scroll")).overflowX`))
		}
		if err == nil && width == 1400 {
			if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				shot := filepath.Join(t.TempDir(), "simulation-report.png")
				if os.Getenv("SPOTFLEET_SCREENSHOT") == "1" {
					shot = "../../docs/simulation-report.png"
				}
				err = os.WriteFile(shot, png, 0o644)
			}
		}
		cancel3()
		cancel2()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d px: page %d wide in a %d viewport, the table %d in a box of %d (overflow %s)", width, pageWide, viewport, tableWide, boxWide, overflow)
		if pageWide > viewport {
			t.Errorf("%d px: the page is %d px wide: it scrolls sideways", width, pageWide)
		}
		if tableWide > boxWide && overflow != "auto" {
			t.Errorf("%d px: the table is %d px in a box of %d that does not scroll: columns are cut", width, tableWide, boxWide)
		}
		if charts != 7 || legends != 7 || legendsInSVG != 0 {
			t.Errorf("%d px: %d charts, %d legends beside them, %d inside; want 7, 7, 0", width, charts, legends, legendsInSVG)
		}
	}
}
