#!/usr/bin/env bash
# The emulator's load balancer against calling its target directly, with wrk on loopback.
# Runs `spotfleet up` with one example-service task behind the listener, waits until the
# target is healthy, then runs the same wrk load against the task and against the listener.
# Needs wrk (apt-get install wrk) and python3. Usage: bench/lb.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v wrk >/dev/null || { echo "bench/lb.sh needs wrk: apt-get install wrk" >&2; exit 1; }
tmp=$(mktemp -d)
up=""
cleanup() { [ -n "$up" ] && kill "$up" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/spotfleet" ./cmd/spotfleet
cat > "$tmp/fleet.yaml" <<YAML
name: lbbench
capacity:
  - name: od
    instanceTypes: [m5.large]
    zones: [us-east-1a]
    desiredCapacity: 1
    onDemandPercentageAboveBaseCapacity: 100
services:
  - name: web
    command: [spotfleet, example-service]
    desiredCount: 1
    port: 5000
    loadBalancer: {listenerPort: 18080, healthCheck: {path: /healthcheck}}
YAML
echo "bootTime: 1s" > "$tmp/scenario.yaml"
"$tmp/spotfleet" up -f "$tmp/fleet.yaml" --scenario "$tmp/scenario.yaml" --speed 10 --api 127.0.0.1:17077 > "$tmp/up.log" 2>&1 &
up=$!
target=""
for _ in $(seq 200); do
  target=$(curl -s 127.0.0.1:17077/status | python3 -c 'import json,sys
try:
    s = json.load(sys.stdin)
    print(next(t["id"] for t in s["targets"] if t["state"] == "healthy"))
except Exception:
    print("")' || true)
  [ -n "$target" ] && break
  sleep 0.2
done
[ -n "$target" ] || { echo "the target never became healthy"; cat "$tmp/up.log"; exit 1; }
echo "machine: $(nproc) cores, $(uname -srm); wrk -c$conns -d${secs}s --latency"
for pair in "direct http://$target/" "listener http://127.0.0.1:18080/"; do
  name=${pair%% *}; url=${pair#* }
  wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"${secs}s" --latency "$url" > "$tmp/$name.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/$name.txt")
  p50=$(awk '/^ +50%/ {print $2}' "$tmp/$name.txt")
  p99=$(awk '/^ +99%/ {print $2}' "$tmp/$name.txt")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$tmp/$name.txt")
  printf '%-9s %-32s %10s req/s  p50 %8s  p99 %8s  %s\n' "$name" "$url" "$rps" "$p50" "$p99" "${errs:-no errors}"
done
