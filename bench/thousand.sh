#!/usr/bin/env bash
# spotfleet up with 1,000 real tasks: every task is an example-service process (a real
# HTTP server) on one of 35 emulated m5.2xlarge-class Spot instances, behind the listener.
# Prints the time from start until 1,000 targets are healthy, the resident memory of up
# itself and of all the task processes together (PSS: the shared binary counted once), and
# the listener's requests/s with wrk over the 1,000 targets.
# Usage: bench/thousand.sh [tasks] [seconds of wrk]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
secs=${2:-8}
tmp=$(mktemp -d)
up=""
cleanup() { [ -n "$up" ] && kill "$up" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/spotfleet" ./cmd/spotfleet
per=32 # tasks of 256 CPU units on an 8-vCPU instance
instances=$(( (n + per - 1) / per + 2 ))
cat > "$tmp/fleet.yaml" <<YAML
name: thousand
capacity:
  - name: spot
    instanceTypes: [m5.2xlarge, m5a.2xlarge, m6i.2xlarge, m6a.2xlarge, m7i.2xlarge]
    zones: [us-east-1a, us-east-1b, us-east-1c]
    maxSize: $((instances + 5))
    desiredCapacity: $instances
services:
  - name: web
    command: [spotfleet, example-service]
    port: 5000
    cpu: 256
    memory: 512
    desiredCount: $n
    loadBalancer: {listenerPort: 18080, healthCheck: {path: /healthcheck, interval: 5s, healthyThreshold: 2}}
YAML
echo "bootTime: 1s" > "$tmp/scenario.yaml"
start=$(date +%s.%N)
"$tmp/spotfleet" up -f "$tmp/fleet.yaml" --scenario "$tmp/scenario.yaml" --api 127.0.0.1:17077 > "$tmp/up.log" 2>&1 &
up=$!
best=0
healthy=0
limit=${READY_LIMIT:-300}
while [ "$healthy" -lt "$n" ]; do
  sleep 1
  kill -0 "$up" 2>/dev/null || { echo "up ended:"; tail -20 "$tmp/up.log"; exit 1; }
  healthy=$(curl -s --max-time 5 127.0.0.1:17077/status | jq '[.targets[] | select(.state == "healthy")] | length' 2>/dev/null || echo 0)
  [ "$healthy" -gt "$best" ] && best=$healthy && best_at=$(echo "$(date +%s.%N) - $start" | bc)
  if [ "$(echo "$(date +%s.%N) - $start > $limit" | bc)" = 1 ]; then
    printf 'not all healthy after %d s: at most %d of %d (at %.1f s)\n' "$limit" "$best" "$n" "$best_at"
    break
  fi
done
[ "$healthy" -ge "$n" ] && printf 'tasks healthy behind the listener: %d after %.1f s\n' "$healthy" "$(echo "$(date +%s.%N) - $start" | bc)"
pss() { awk '/^Pss:/ {s += $2} END {print s}' "$@" 2>/dev/null; }
up_kb=$(awk '/^VmRSS:/ {print $2}' /proc/$up/status)
tasks=$(pgrep -f 'spotfleet example-service' | tr '\n' ' ')
task_kb=0
for p in $tasks; do task_kb=$(( task_kb + $(pss /proc/$p/smaps_rollup || echo 0) )); done
ntasks=$(echo $tasks | wc -w)
printf 'up: %d MB resident; %d task processes: %d MB (PSS), %d kB each\n' $((up_kb / 1024)) "$ntasks" $((task_kb / 1024)) $((task_kb / ntasks))
printf 'up CPU while idle: '
t0=$(awk '{print $14 + $15}' /proc/$up/stat); sleep 10; t1=$(awk '{print $14 + $15}' /proc/$up/stat)
echo "$(( t1 - t0 )) ms per second (clock ticks of 10 ms over 10 s; health checks of $n targets every 5 s, accounting)"
command -v wrk >/dev/null && wrk -t2 -c64 -d"${secs}s" http://127.0.0.1:18080/ | grep -E 'Requests/sec|Latency'
