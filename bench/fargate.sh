#!/usr/bin/env bash
# Fargate Spot under spotfleet and under none (ECS alone), on examples/s3-fargate-spot.yaml:
#   - interrupt: half the Fargate Spot tasks get the warning (and SIGTERM) under the built-in
#     load (examples/scenarios/fargate-spot-interrupt.yaml, 5 emulated minutes at --speed 2),
#     with the example service and with python's http.server (which exits at once on
#     SIGTERM). At --speed 10 the load is 500 real requests a second, which one python
#     process cannot answer within its health check: the comparison would measure that.
#   - shortage: every FARGATE_SPOT pool refuses placements for 10 minutes and half the tasks
#     are interrupted (examples/scenarios/fargate-spot-shortage.yaml, 22 emulated minutes at
#     --speed 10).
# Prints one markdown table row per run. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/spotfleet" ./cmd/spotfleet
cp examples/s3-fargate-spot.yaml "$tmp/example.yaml"
sed -e "s|command: \[spotfleet, example-service\]|command: [sh, -c, 'exec python3 -m http.server \"\$PORT\" --bind \"\$HOST\"']|" \
    -e 's|path: /healthcheck|path: /|' examples/s3-fargate-spot.yaml > "$tmp/python.yaml"
echo "| scenario | service | controller | requests | failed | event → deregistered p99 (wall ms) | tasks ended while registered | s below desired | cover serving after (s) | back to Spot after (s) | saved |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
run() { # scenario service controller emulated-duration speed
  report=$tmp/$1-$2-$3.json
  "$tmp/spotfleet" up -f "$tmp/$2.yaml" --scenario "examples/scenarios/fargate-spot-$1.yaml" --speed "$5" --for "$4" --controller "$3" --api "" --report "$report" >/dev/null
  python3 - "$report" "$1" "$2" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
q, i, c = r["requests"], r["interruptions"], r["capacity"]
fb = (r.get("controllerStats") or {}).get("fallback") or {}
react = ", ".join(f"{x:.0f}" for x in fb.get("reactionSeconds") or []) or "-"
back = ", ".join(f"{x:.0f}" for x in fb.get("backToSpotSeconds") or []) or "-"
print(f'| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {q["total"]} | {q["failed"]} | {i["noticeToDeregisteredWallMs"]["p99"]} | {i["tasksStoppedWhileRegistered"]} | {c["secondsBelowDesired"]} | {react} | {back} | {r["cost"]["savingsPercent"]}% |')
PY
}
for service in example python; do
  for ctl in spotfleet none; do
    run interrupt "$service" "$ctl" 5m 2
  done
done
for ctl in spotfleet none; do
  run shortage example "$ctl" 22m 10
done
