#!/usr/bin/env bash
# Measures duws serve against nginx serving the same bytes, in one run, and
# prints the ratios:
#   checks      POSTed device checks (duws) vs GET of the same precomputed
#               answer as a static file (nginx), plain HTTP, keep-alive
#   handshakes  new TLS connections per second (one request each)
#   downloads   throughput of a 40 MB image, plain HTTP
#   memory      duws's resident memory after the runs
#
#   responder/bench/bench.sh [SECONDS] [ROUNDS]
#
# Each measurement runs ROUNDS times (default 3), alternating nginx and
# duws; the best of each counts, since other work on a shared machine only
# ever slows a run down.
set -euo pipefail
secs=${1:-10}
rounds=${2:-3}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for tool in wrk nginx openssl; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
nginx=$(command -v nginx)

cd "$top"
go build -o "$work/duws" ./cmd/duws
# A policy over the example packages plus one with a 40 MB image.
mkdir -p "$work/pol"
sed 's#packages: examples/packages#packages: packages#' policy.yaml > "$work/pol/policy.yaml"
cp -r examples/packages "$work/pol/packages"
go run ./builder/cab/bench/bigcab -size 40 -out "$work/big.cab"
"$work/duws" import --policy "$work/pol/policy.yaml" "$work/big.cab" >/dev/null
SOURCE_DATE_EPOCH=1372636800 "$work/duws" build --policy "$work/pol/policy.yaml" --out "$work/site" >/dev/null
tree=$(readlink -f "$work/site/current")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ucupdates-r2.contoso.com \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem"

# The answer a production CX600 on 4.0.7577.4100 gets, as a static file.
answer=$(python3 - "$tree" <<'PY'
import json,sys
t=sys.argv[1]
l=json.load(open(t+"/lookup/ucphone~polycom~cx600~a~enu~cpe.json"))
t=l["production"]
print(t["answers"][t["versions"]["4.0.7577.4100"]])
PY
)
mkdir -p "$work/static"
cp "$tree/$answer" "$work/static/answer.xml"
big=$(find -L "$tree/files" -name CPE.nbt -size +30M | head -1)
cp "$big" "$work/static/big.nbt"

cat > "$work/nginx.conf" <<NGX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log $work/nginx-access.log;  # duws writes an audit row per check: nginx logs each request too
	sendfile on;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:18080;
		root $work/static;
	}
	server {
		listen 127.0.0.1:18443 ssl;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $work/static;
	}
}
NGX
"$nginx" -c "$work/nginx.conf"
pids+=("$(sleep 0.5; cat "$work/nginx.pid")")

"$work/duws" serve --site "$work/site" --internal 127.0.0.1:18081 --plain-internal --external 127.0.0.1:18444 \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --audit-dir "$work/audit" >"$work/duws.log" 2>&1 &
duws_pid=$!
pids+=("$duws_pid")
for _ in $(seq 100); do curl -sf http://127.0.0.1:18081/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf http://127.0.0.1:18081/healthz >/dev/null || { echo "bench: duws serve did not start:" >&2; cat "$work/duws.log" >&2; exit 1; }

cat > "$work/check.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.body = [[<?xml version="1.0" encoding="utf-8"?><DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-99-99</MAC><Serial>SN99</Serial><Vendor>Polycom</Vendor><Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><User>sip:bob@contoso.com</User></Device><Modules><Module><Name>CPE.nbt</Name><Version>4.0.7577.4100</Version><Timestamp>2013-05-14T10:30:00Z</Timestamp></Module></Modules></DeviceUpdateRequest>]]
LUA
cat > "$work/close.lua" <<'LUA'
wrk.headers["Connection"] = "close"
LUA

rps() { awk '/Requests\/sec/ {print $2}'; }
bps() { awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) m=1024; else if (v ~ /MB/) m=1; else if (v ~ /KB/) m=1/1024; sub(/[KMG]B/,"",v); print v*m}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# Checks: the body duws answers must be the one nginx serves.
sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$work/check.lua" > "$work/check.xml"
curl -sS -X POST --data-binary "@$work/check.xml" http://127.0.0.1:18081/RequestHandler/ucdevice.upx > "$work/got.xml"
cmp "$work/got.xml" "$work/static/answer.xml" || { echo "bench: duws answered otherwise than the static answer:" >&2; cat "$work/got.xml" >&2; exit 1; }

best() { awk 'BEGIN{m=0} {if ($1+0 > m) m=$1+0} END{print m}'; }
bigpath=${big#"$tree/files/"}
c_n=(); c_d=(); h_n=(); h_d=(); d_n=(); d_d=()
for _ in $(seq "$rounds"); do
	c_n+=("$(wrk -t2 -c64 -d"${secs}s" http://127.0.0.1:18080/answer.xml | rps)")
	c_d+=("$(wrk -t2 -c64 -d"${secs}s" -s "$work/check.lua" http://127.0.0.1:18081/RequestHandler/ucdevice.upx | rps)")
	h_n+=("$(wrk -t2 -c32 -d"${secs}s" -s "$work/close.lua" https://127.0.0.1:18443/answer.xml | rps)")
	h_d+=("$(wrk -t2 -c32 -d"${secs}s" -s "$work/close.lua" https://127.0.0.1:18444/healthz | rps)")
	d_n+=("$(wrk -t2 -c8 -d"${secs}s" http://127.0.0.1:18080/big.nbt | bps)")
	d_d+=("$(wrk -t2 -c8 -d"${secs}s" "http://127.0.0.1:18081/DeviceUpdateFiles_Int/$bigpath" | bps)")
done
c_nginx=$(printf '%s\n' "${c_n[@]}" | best); c_duws=$(printf '%s\n' "${c_d[@]}" | best)
h_nginx=$(printf '%s\n' "${h_n[@]}" | best); h_duws=$(printf '%s\n' "${h_d[@]}" | best)
d_nginx=$(printf '%s\n' "${d_n[@]}" | best); d_duws=$(printf '%s\n' "${d_d[@]}" | best)
rss=$(awk '/VmHWM/ {print $2}' /proc/$duws_pid/status)

printf 'checks      nginx %9.0f req/s   duws %9.0f req/s   ratio %s (target >= 0.75)\n' "$c_nginx" "$c_duws" "$(ratio "$c_duws" "$c_nginx")"
printf 'handshakes  nginx %9.0f conn/s  duws %9.0f conn/s  ratio %s (target >= 0.9)\n' "$h_nginx" "$h_duws" "$(ratio "$h_duws" "$h_nginx")"
printf 'downloads   nginx %9.0f MB/s    duws %9.0f MB/s    ratio %s (target >= 0.9)\n' "$d_nginx" "$d_duws" "$(ratio "$d_duws" "$d_nginx")"
printf 'memory      duws peak RSS %d MiB (target < 64 MiB)\n' $((rss / 1024))
