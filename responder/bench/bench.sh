#!/usr/bin/env bash
# Measures duws serve against nginx serving the same bytes, in one run, and
# prints the ratios:
#   checks      POSTed device checks (duws) vs GET of the same precomputed
#               answer as a static file (nginx), plain HTTP, keep-alive
#   outside     POSTed checks from outside, over TLS with valid Basic
#               credentials (duws external listener), vs inside checks
#               of the same run
#   flood       inside checks' p99 latency while 64 connections send
#               wrong passwords from outside
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
duws_pid=
# Stop nginx gracefully (SIGQUIT: the master lets its workers finish and
# exit, then exits) and wait until nothing listens on its ports; SIGKILL
# would leave the workers running and listening.
stop_nginx() {
	[ -f "$work/nginx.pid" ] || return 0
	local master
	master=$(cat "$work/nginx.pid")
	kill -QUIT "$master" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$master" 2>/dev/null || break
		sleep 0.1
	done
	for port in $p_nginx $p_nginx_tls; do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
			echo "bench: something still listens on port $port after nginx stopped" >&2
		fi
	done
}
cleanup() {
	stop_nginx
	if [ -n "$duws_pid" ]; then kill "$duws_pid" 2>/dev/null || true; wait "$duws_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
for tool in wrk nginx openssl; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
nginx=$(command -v nginx)
# Free loopback ports, so that runs on a shared machine do not collide.
read -r p_nginx p_nginx_tls p_int p_ext < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')

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
		listen 127.0.0.1:$p_nginx;
		root $work/static;
	}
	server {
		listen 127.0.0.1:$p_nginx_tls ssl;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $work/static;
	}
}
NGX
"$nginx" -c "$work/nginx.conf"
sleep 0.5

# An account for the outside checks. Its credentials stay cached for the
# whole run (the flood's lockout of the address would otherwise refuse
# them once the default two minutes are up): phones' repeated requests are
# what the cache serves.
printf 's3cret\n' | "$work/duws" users add --file "$work/users.htpasswd" --stdin alice >/dev/null
"$work/duws" serve --site "$work/site" --internal 127.0.0.1:$p_int --plain-internal --external 127.0.0.1:$p_ext \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --audit-dir "$work/audit" \
	--htpasswd "$work/users.htpasswd" --credential-cache-ttl 1h >"$work/duws.log" 2>&1 &
duws_pid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$p_int/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf http://127.0.0.1:$p_int/healthz >/dev/null || { echo "bench: duws serve did not start:" >&2; cat "$work/duws.log" >&2; exit 1; }

cat > "$work/check.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.body = [[<?xml version="1.0" encoding="utf-8"?><DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-99-99</MAC><Serial>SN99</Serial><Vendor>Polycom</Vendor><Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><User>sip:bob@contoso.com</User></Device><Modules><Module><Name>CPE.nbt</Name><Version>4.0.7577.4100</Version><Timestamp>2013-05-14T10:30:00Z</Timestamp></Module></Modules></DeviceUpdateRequest>]]
LUA
cat > "$work/close.lua" <<'LUA'
wrk.headers["Connection"] = "close"
LUA
# The same check from outside, with a signed-in user and credentials.
sed -e 's#<User>sip:bob@contoso.com</User>#<User>sip:alice@contoso.com</User>#' "$work/check.lua" > "$work/outside.lua"
echo 'wrk.headers["Authorization"] = "Basic '"$(printf 'alice:s3cret' | base64)"'"' >> "$work/outside.lua"
sed -e 's#^wrk.headers\["Authorization"\].*#wrk.headers["Authorization"] = "Basic '"$(printf 'alice:wrong' | base64)"'"#' "$work/outside.lua" > "$work/wrong.lua"

rps() { awk '/Requests\/sec/ {print $2}'; }
bps() { awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) m=1024; else if (v ~ /MB/) m=1; else if (v ~ /KB/) m=1/1024; sub(/[KMG]B/,"",v); print v*m}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# Checks: the body duws answers must be the one nginx serves.
sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$work/check.lua" > "$work/check.xml"
curl -sS -X POST --data-binary "@$work/check.xml" http://127.0.0.1:$p_int/RequestHandler/ucdevice.upx > "$work/got.xml"
cmp "$work/got.xml" "$work/static/answer.xml" || { echo "bench: duws answered otherwise than the static answer:" >&2; cat "$work/got.xml" >&2; exit 1; }

best() { awk 'BEGIN{m=0} {if ($1+0 > m) m=$1+0} END{print m}'; }
least() { awk 'BEGIN{m=-1} {if (m < 0 || $1+0 < m) m=$1+0} END{print m}'; }
# p99 in milliseconds from wrk --latency.
p99() { awk '$1 == "99%" {v=$2; m=1; if (v ~ /us$/) m=0.001; else if (v ~ /ms$/) m=1; else if (v ~ /s$/) m=1000; sub(/[mu]?s$/,"",v); print v*m}'; }
# wrk counts refused requests in Requests/sec; an outside run must have none.
ok2xx() { tee "$work/last.txt" | rps; if grep -q 'Non-2xx' "$work/last.txt"; then echo "bench: outside run had refused requests:" >&2; grep 'Non-2xx' "$work/last.txt" >&2; fi; }

# The outside check answers as the inside one, once verified.
curl -sS -k -u alice:s3cret -X POST --data-binary @<(sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$work/outside.lua") \
	https://127.0.0.1:$p_ext/RequestHandlerExt/ucdevice.upx > "$work/got-outside.xml"
cmp "$work/got-outside.xml" "$work/static/answer.xml" || { echo "bench: the outside check did not get the answer:" >&2; cat "$work/got-outside.xml" >&2; exit 1; }
bigpath=${big#"$tree/files/"}
c_n=(); c_d=(); h_n=(); h_d=(); d_n=(); d_d=(); o_d=(); f_p=()
for _ in $(seq "$rounds"); do
	c_n+=("$(wrk -t2 -c64 -d"${secs}s" http://127.0.0.1:$p_nginx/answer.xml | rps)")
	c_d+=("$(wrk -t2 -c64 -d"${secs}s" -s "$work/check.lua" http://127.0.0.1:$p_int/RequestHandler/ucdevice.upx | rps)")
	h_n+=("$(wrk -t2 -c32 -d"${secs}s" -s "$work/close.lua" https://127.0.0.1:$p_nginx_tls/answer.xml | rps)")
	h_d+=("$(wrk -t2 -c32 -d"${secs}s" -s "$work/close.lua" https://127.0.0.1:$p_ext/healthz | rps)")
	d_n+=("$(wrk -t2 -c8 -d"${secs}s" http://127.0.0.1:$p_nginx/big.nbt | bps)")
	d_d+=("$(wrk -t2 -c8 -d"${secs}s" "http://127.0.0.1:$p_int/DeviceUpdateFiles_Int/$bigpath" | bps)")
	o_d+=("$(wrk -t2 -c64 -d"${secs}s" -s "$work/outside.lua" https://127.0.0.1:$p_ext/RequestHandlerExt/ucdevice.upx | ok2xx)")
	wrk -t1 -c64 -d"$((secs + 2))s" -s "$work/wrong.lua" https://127.0.0.1:$p_ext/RequestHandlerExt/ucdevice.upx >/dev/null &
	flood=$!
	sleep 1
	f_p+=("$(wrk -t1 -c16 -d"${secs}s" --latency -s "$work/check.lua" http://127.0.0.1:$p_int/RequestHandler/ucdevice.upx | p99)")
	wait "$flood"
done
c_nginx=$(printf '%s\n' "${c_n[@]}" | best); c_duws=$(printf '%s\n' "${c_d[@]}" | best)
h_nginx=$(printf '%s\n' "${h_n[@]}" | best); h_duws=$(printf '%s\n' "${h_d[@]}" | best)
d_nginx=$(printf '%s\n' "${d_n[@]}" | best); d_duws=$(printf '%s\n' "${d_d[@]}" | best)
o_duws=$(printf '%s\n' "${o_d[@]}" | best); f_p99=$(printf '%s\n' "${f_p[@]}" | least)
rss=$(awk '/VmHWM/ {print $2}' /proc/$duws_pid/status)

printf 'checks      nginx %9.0f req/s   duws %9.0f req/s   ratio %s (target >= 0.75)\n' "$c_nginx" "$c_duws" "$(ratio "$c_duws" "$c_nginx")"
printf 'outside     inside %8.0f req/s   outside+TLS+Basic %9.0f req/s   ratio %s (target >= 0.5)\n' "$c_duws" "$o_duws" "$(ratio "$o_duws" "$c_duws")"
printf 'flood       inside check p99 %.1f ms while 64 connections send wrong passwords (target < 20 ms)\n' "$f_p99"
printf 'handshakes  nginx %9.0f conn/s  duws %9.0f conn/s  ratio %s (target >= 0.9)\n' "$h_nginx" "$h_duws" "$(ratio "$h_duws" "$h_nginx")"
printf 'downloads   nginx %9.0f MB/s    duws %9.0f MB/s    ratio %s (target >= 0.9)\n' "$d_nginx" "$d_duws" "$(ratio "$d_duws" "$d_nginx")"
printf 'memory      duws peak RSS %d MiB (target < 64 MiB)\n' $((rss / 1024))
