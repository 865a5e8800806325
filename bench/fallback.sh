#!/usr/bin/env bash
# Spot runs out and comes back (examples/scenarios/spot-shortage.yaml: at 3m every Spot pool
# refuses launches and a third of the Spot instances are interrupted; at 13m Spot returns),
# for each controller (spotfleet, seed, none) on the S3 (workload ecs) and S1 (workload
# instances) examples, at --speed 20 for 25 emulated minutes under the built-in load
# (50 requests/s).
#
# Prints one markdown table row per run.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/spotfleet" ./cmd/spotfleet
echo "| example | controller | requests | failed | s below desired | On-Demand instance-s | beyond base + cover | fallback reaction s | back to Spot s | cost USD | saved |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for example in s3-ecs-service-autoscaled s1-spot-with-ondemand-backup; do
  for ctl in spotfleet seed none; do
    report=$tmp/$example-$ctl.json
    "$tmp/spotfleet" up -f "examples/$example.yaml" --scenario examples/scenarios/spot-shortage.yaml \
      --speed 20 --for 25m --controller "$ctl" --api "" --report "$report" >/dev/null
    python3 - "$report" "$example" "$ctl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
q, c, cost = r["requests"], r["capacity"], r["cost"]
fb = (r.get("controllerStats") or {}).get("fallback") or {}
fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs) if xs else "-"
print(f'| {sys.argv[2].split("-")[0].upper()} | {sys.argv[3]} | {q["total"]} | {q["failed"]} | {c["secondsBelowDesired"]} | '
      f'{c["onDemandInstanceSeconds"]:.0f} | {c["onDemandExcessInstanceSeconds"]:.0f} | {fmt(fb.get("reactionSeconds"))} | '
      f'{fmt(fb.get("backToSpotSeconds"))} | {cost["usd"]:.4f} | {cost["savingsPercent"]}% |')
PY
  done
done
