#!/usr/bin/env bash
# The emulator's load balancer against calling its target directly, and against nginx
# proxying to the same target, with wrk on loopback. Runs `spotfleet up` with one
# example-service task behind the listener, waits until the target is healthy, starts nginx
# (when installed: apt-get install nginx-light) as a keep-alive reverse proxy to the task,
# then runs the same wrk load against the task, nginx and the listener, and prints the
# listener's requests/s as a share of nginx's.
# Needs wrk (apt-get install wrk) and python3. Usage: bench/lb.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v wrk >/dev/null || { echo "bench/lb.sh needs wrk: apt-get install wrk" >&2; exit 1; }
tmp=$(mktemp -d)
up=""
nginx_pid=""
cleanup() {
  [ -n "$up" ] && kill "$up" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  wait 2>/dev/null; rm -rf "$tmp"
}
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
pairs=("direct http://$target/")
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$nginx" ]; then
  # As many workers as the machine has cores, keep-alive to the task, no logs: nginx at
  # its fastest in front of the same task. It sends the task what the listener sends (as
  # an ALB does): the client's Host, and X-Forwarded-For, -Host and -Proto, so that both
  # proxies do the same work and the task reads the same requests.
  mkdir -p "$tmp/nginx"
  cat > "$tmp/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
  upstream task { server $target; keepalive 256; }
  server {
    listen 127.0.0.1:18081;
    location / {
      proxy_pass http://task; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
NGINX
  "$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
  nginx_pid=$!
  sleep 0.5
  pairs+=("nginx http://127.0.0.1:18081/")
else
  echo "(nginx is not installed: apt-get install nginx-light for the comparison)"
fi
pairs+=("listener http://127.0.0.1:18080/")
echo "machine: $(nproc) cores, $(uname -srm); wrk -c$conns -d${secs}s --latency"
declare -A rate
for pair in "${pairs[@]}"; do
  name=${pair%% *}; url=${pair#* }
  wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"${secs}s" --latency "$url" > "$tmp/$name.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/$name.txt")
  p50=$(awk '/^ +50%/ {print $2}' "$tmp/$name.txt")
  p99=$(awk '/^ +99%/ {print $2}' "$tmp/$name.txt")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$tmp/$name.txt")
  printf '%-9s %-32s %10s req/s  p50 %8s  p99 %8s  %s\n' "$name" "$url" "$rps" "$p50" "$p99" "${errs:-no errors}"
  rate[$name]=$rps
done
if [ -n "${rate[nginx]:-}" ]; then
  python3 -c "print('listener / nginx: %.2f' % (${rate[listener]} / ${rate[nginx]}))"
fi
