#!/usr/bin/env bash
# Half the Spot instances interrupted under load, for each controller (spotfleet, seed,
# none) and two services: the example service (graceful on SIGTERM) and python's
# http.server (exits at once on SIGTERM). Runs examples/s3-ecs-service-autoscaled.yaml with
# examples/scenarios/interrupt-half-spot.yaml at --speed 10 for 5 emulated minutes.
#
#   bench/interrupt.sh builtin   the built-in load (50 requests/s, open loop)
#   bench/interrupt.sh wrk       wrk against the listener instead (closed loop, 4 connections,
#                                20 s from when the fleet serves: over the notice and the end)
#
# Prints one markdown table row per run. Needs python3; the wrk mode needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-builtin}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/spotfleet" ./cmd/spotfleet
cp examples/s3-ecs-service-autoscaled.yaml "$tmp/example.yaml"
sed -e "s|command: \[spotfleet, example-service\]|command: [sh, -c, 'exec python3 -m http.server \"\$PORT\" --bind \"\$HOST\"']|" \
    -e 's|path: /healthcheck|path: /|' examples/s3-ecs-service-autoscaled.yaml > "$tmp/python.yaml"
scenario=examples/scenarios/interrupt-half-spot.yaml
if [ "$mode" = wrk ]; then
  command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
  grep -v '^load:' "$scenario" > "$tmp/scenario.yaml"
  scenario=$tmp/scenario.yaml
fi
echo "| service | controller | load | requests | failed | p99 ms | tasks stopped while registered | deadlines missed | s below desired | saved |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for service in example python; do
  for ctl in spotfleet seed none; do
    report=$tmp/$service-$ctl.json
    if [ "$mode" = builtin ]; then
      "$tmp/spotfleet" up -f "$tmp/$service.yaml" --scenario "$scenario" --speed 10 --for 5m --controller "$ctl" --api "" --report "$report" >/dev/null
      python3 - "$report" "$service" "$ctl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
q, i, c = r["requests"], r["interruptions"], r["capacity"]
print(f'| {sys.argv[2]} | {sys.argv[3]} | built-in 50/s | {q["total"]} | {q["failed"]} | {q["p99Ms"]} | {i["tasksStoppedWhileRegistered"]} | {i["deadlineMissed"]} | {c["secondsBelowDesired"]} | {r["cost"]["savingsPercent"]}% |')
PY
    else
      "$tmp/spotfleet" up -f "$tmp/$service.yaml" --scenario "$scenario" --speed 10 --for 5m --controller "$ctl" --api "" --report "$report" >/dev/null &
      up=$!
      until curl -fsS -o /dev/null http://127.0.0.1:8083/ 2>/dev/null; do sleep 0.2; done
      wrk -t 2 -c 4 -d 20s --latency http://127.0.0.1:8083/ > "$tmp/wrk.txt" || true
      wait $up
      python3 - "$report" "$service" "$ctl" "$tmp/wrk.txt" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1])); w = open(sys.argv[4]).read()
total = int(re.search(r"(\d+) requests in", w).group(1))
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", w) or [0, 0])[1])
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", w))
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", w)
ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
i, c = r["interruptions"], r["capacity"]
print(f'| {sys.argv[2]} | {sys.argv[3]} | wrk 4 conns, 20 s | {total} | {non2xx + errs} | {ms:.1f} | {i["tasksStoppedWhileRegistered"]} | {i["deadlineMissed"]} | {c["secondsBelowDesired"]} | {r["cost"]["savingsPercent"]}% |')
PY
    fi
  done
done
