#!/usr/bin/env bash
# Runs a simulated fleet against duws serve over TLS, with dnsmasq for
# discovery, and prints:
#   convergence  simulated and wall time for the fleet to settle on the
#                example policy's targets
#   change       the same fleet after the CX600's pending version is
#                approved and the tree rebuilt: simulated time to converge
#   storm        every phone's power-on check at once, inside then outside:
#                checks/s and latency percentiles
#   reference    wrk posting the same inside check over as many keep-alive
#                TLS connections, in the same run: the storm's ratio to it
#                says how much of the responder the simulator drives
#
#   simulate/bench/bench.sh [PHONES] [STORM_ROUNDS]
#
# Accounts are hashed at the cost duws users add uses; BCRYPT_COST=4 (with
# apache2-utils' htpasswd) makes outside checks cheap, to measure the
# fleet rather than bcrypt (at the default cost each phone's first outside
# request pays a bcrypt; the responder's credential cache answers the
# rest).
# CONVERGE=0 runs only the storm, on a fleet made up for it.
set -euo pipefail
phones=${1:-10000}
rounds=${2:-3}
conc=${CONCURRENCY:-32}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for tool in dnsmasq wrk openssl python3; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cd "$top"
go build -o "$work/duws" ./cmd/duws
mkdir -p "$work/pol"
sed 's#packages: examples/packages#packages: packages#' policy.yaml > "$work/pol/policy.yaml"
cp -r examples/packages "$work/pol/packages"
SOURCE_DATE_EPOCH=1372636800 "$work/duws" build --policy "$work/pol/policy.yaml" --out "$work/site" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ucupdates-r2.contoso.com \
	-addext subjectAltName=DNS:ucupdates-r2.contoso.com,IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
printf 'alice:s3cret\nbob:hunter2\n' > "$work/accounts"
while IFS=: read -r user pass; do
	if [ -n "${BCRYPT_COST:-}" ]; then
		htpasswd -b -B -C "$BCRYPT_COST" "$work/users.htpasswd" "$user" "$pass" 2>/dev/null || htpasswd -c -b -B -C "$BCRYPT_COST" "$work/users.htpasswd" "$user" "$pass" 2>/dev/null
	else
		echo "$pass" | "$work/duws" users add --file "$work/users.htpasswd" --stdin "$user" >/dev/null
	fi
done < "$work/accounts"

dns=$(port)
dnsmasq --no-daemon --port="$dns" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
	--address=/ucupdates-r2.contoso.com/127.0.0.1 --conf-file=/dev/null --pid-file= 2>"$work/dnsmasq.log" &
pids+=($!)
int=$(port) ext=$(port)
"$work/duws" serve --site "$work/site" --internal "127.0.0.1:$int" --external "127.0.0.1:$ext" \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --htpasswd "$work/users.htpasswd" \
	--audit-dir "$work/audit" --server-name bench >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$int/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

sim=("$work/duws" simulate --site "$work/site" --ca "$work/cert.pem" --dns "127.0.0.1:$dns" --inside-port "$int"
	--outside-port "$ext" --accounts "$work/accounts" --wrong-password 0 --concurrency "$conc" --start 2026-01-05T08:00:00Z --json)
if [ "${CONVERGE:-1}" != 0 ]; then
	echo "bench: $phones phones converging on the example policy" >&2
	"${sim[@]}" --phones "$phones" --fleet "$work/fleet.json" > "$work/converge.json" || true
	echo "bench: approving the CX600's pending version" >&2
	"$work/duws" approve --policy "$work/pol/policy.yaml" UCPhone/Polycom/CX600/A/ENU >/dev/null
	SOURCE_DATE_EPOCH=1372636801 "$work/duws" build --policy "$work/pol/policy.yaml" --out "$work/site" >/dev/null
	tree=$(basename "$(readlink "$work/site/current")")
	for _ in $(seq 100); do
		curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$int/healthz" | grep -q "$tree" && break
		sleep 0.1
	done
	"${sim[@]}" --fleet "$work/fleet.json" > "$work/change.json" || true
fi
echo "bench: storm, $rounds round(s)" >&2
"${sim[@]}" --phones "$phones" --fleet "$work/fleet.json" --storm --rounds "$rounds" > "$work/storm.json"

# The reference: the check of an inside CX600 on 4.0.7577.4100, posted by
# wrk over the same number of keep-alive TLS connections.
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.body = [[<?xml version="1.0" encoding="utf-8"?>
<DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-00-01</MAC><Serial>CX600A0000001</Serial><Vendor>Polycom</Vendor><Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><User>sip:alice@contoso.com</User></Device>
<Modules><Module><Name>CPE.nbt</Name><UpdateType>CPE</UpdateType><Version>4.0.7577.4100</Version></Module></Modules></DeviceUpdateRequest>
]]
LUA
echo "bench: wrk reference" >&2
wrk -t2 -c"$conc" -d5s -s "$work/post.lua" "https://127.0.0.1:$int/RequestHandler/ucdevice.upx" > "$work/wrk.txt"

python3 - "$work" "${BCRYPT_COST:-default}" <<'PY'
import json, os, re, sys
w = sys.argv[1]
print("bcrypt cost of the accounts: %s" % sys.argv[2])
print()
c = json.load(open(w + "/converge.json")) if os.path.exists(w + "/converge.json") else None
a = json.load(open(w + "/change.json")) if os.path.exists(w + "/change.json") else None
s = json.load(open(w + "/storm.json"))
wrk = open(w + "/wrk.txt").read()
m = re.search(r"Requests/sec:\s*([\d.]+)", wrk)
ref = float(m.group(1)) if m else 0
def h(sec):
    sec = int(sec); return "%dh%02dm%02ds" % (sec // 3600, sec % 3600 // 60, sec % 60)
if c:
    print("| fleet of %d phones | |" % c["phones"])
    print("|---|---|")
    print("| settled | %s (on target %d, off target %d; %s) |" % (c["settled"], c["on_target"], c["off_target"],
          ", ".join("%d %s" % (n, st) for st, n in sorted(c["states"].items()))))
    print("| simulated time to settle | %s (last install after %s) |" % (h(c["simulated_seconds"]), h(c["converged_seconds"])))
    print("| wall time | %.1f s |" % c["wall_seconds"])
    print("| checks, downloads, installs | %d, %d, %d |" % (c["checks"], c["downloads"], c["installs"]))
    print("| bytes downloaded | %.1f MiB |" % (c["bytes_downloaded"] / 2**20))
    if a:
        print("| after approving the CX600's pending version: converged after (simulated) | %s (%d installs, settled %s) |" % (h(a["converged_seconds"]), a["installs"], a["settled"]))
        print("| wall time of that run | %.1f s |" % a["wall_seconds"])
    print()
print("| storm (%d round(s) of %d phones) | checks | checks/s | p50 | p90 | p99 |" % (s["rounds"], s["phones"]))
print("|---|---|---|---|---|---|")
for side in ("inside", "outside"):
    x = s.get(side)
    if x:
        print("| %s | %d | %.0f | %.1f ms | %.1f ms | %.1f ms |" % (side, x["checks"], x["checks_per_second"], x["p50_ms"], x["p90_ms"], x["p99_ms"]))
if ref:
    print("| wrk, same inside check, same connections | | %.0f | | | |" % ref)
    print()
    print("storm inside / wrk: %.2fx" % (s["inside"]["checks_per_second"] / ref))
if s.get("inside") and s.get("outside"):
    print("storm outside / inside: %.3fx" % (s["outside"]["checks_per_second"] / s["inside"]["checks_per_second"]))
PY
