#!/usr/bin/env bash
# Measures outside checks authenticated against a directory (a real
# slapd on loopback, over LDAPS), beside inside checks and outside checks
# authenticated by the htpasswd file, in one run, and prints the ratios:
#   inside        checks on the internal listener, no credentials
#   htpasswd      outside checks, one htpasswd account (bcrypt)
#   ldap warm     outside checks, one directory account over and over:
#                 what the responder's credential cache serves
#   ldap cold     outside checks, a different directory account each
#                 time (USERS of them): every request searches and binds
# All over TLS with keep-alive (wrk, 2 threads, 16 connections). Warm
# requests are answered from the responder's credential cache after the
# first; cold ones all reach the directory.
#
#   responder/ldap/bench/bench.sh [SECONDS] [USERS]
set -euo pipefail
secs=${1:-10}
users=${2:-20000}
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
for tool in wrk openssl curl; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

cd "$top"
go build -o "$work/duws" ./cmd/duws
go build -o "$work/dirsetup" ./responder/ldap/bench/dirsetup
mkdir -p "$work/pol" "$work/dir"
sed 's#packages: examples/packages#packages: packages#' policy.yaml > "$work/pol/policy.yaml"
cp -r examples/packages "$work/pol/packages"
SOURCE_DATE_EPOCH=1372636800 "$work/duws" build --policy "$work/pol/policy.yaml" --out "$work/site" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ucupdates-r2.contoso.com \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
echo 'lab-pw' | "$work/duws" users add --file "$work/users.htpasswd" --stdin lab-phone >/dev/null

body='<?xml version="1.0" encoding="utf-8"?><DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-99-99</MAC><Serial>SN99</Serial><Vendor>Polycom</Vendor><Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><User>sip:bob@contoso.com</User></Device><Modules><Module><Name>CPE.nbt</Name><Version>4.0.7577.4100</Version><Timestamp>2013-05-14T10:30:00Z</Timestamp></Module></Modules></DeviceUpdateRequest>'
printf '%s' "$body" > "$work/check.xml"
echo "bench: loading $users accounts into slapd" >&2
eval "$("$work/dirsetup" -dir "$work/dir" -users "$users" -body "$work/check.xml")"
"$slapd" -f "$conf" -h "ldaps://$ldaps/" -d 0 >"$work/slapd.log" 2>&1 &
pids+=("$!")
printf '%s\n' "$bind_pw" > "$work/bind.pw"
# Two responders: one with the htpasswd file, one with the directory. (One
# with both would make every directory login also pay the htpasswd
# file's bcrypt against its dummy hash, file first.)
"$work/duws" serve --site "$work/site" --internal 127.0.0.1:18091 --external 127.0.0.1:18094 \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --audit-dir "$work/audit" --htpasswd "$work/users.htpasswd" \
	>"$work/duws-htpasswd.log" 2>&1 &
pids+=("$!")
"$work/duws" serve --site "$work/site" --internal 127.0.0.1:18092 --external 127.0.0.1:18095 \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --audit-dir "$work/audit-ldap" \
	--ldap-url "ldaps://$ldaps" --ldap-ca-file "$ca" --ldap-server-name ldap.contoso.com --ldap-schema openldap \
	--ldap-bind-dn "$bind_dn" --ldap-bind-password-file "$work/bind.pw" --ldap-base "$base" >"$work/duws.log" 2>&1 &
pids+=("$!")
for port in 18091 18092; do
	for _ in $(seq 100); do curl -skf https://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.1; done
done

htp_ext=https://127.0.0.1:18094/RequestHandlerExt/ucdevice.upx
ext=https://127.0.0.1:18095/RequestHandlerExt/ucdevice.upx
for cred in alice:alice-pw user00000:pw-user00000 lab-phone:lab-pw; do
	url=$ext
	[ "$cred" = lab-phone:lab-pw ] && url=$htp_ext
	code=$(curl -sk -o /dev/null -w '%{http_code}' -u "$cred" -X POST --data-binary "@$work/check.xml" "$url")
	[ "$code" = 200 ] || { echo "bench: outside check as ${cred%%:*} got $code" >&2; cat "$work"/duws*.log >&2; exit 1; }
done
code=$(curl -sk -o /dev/null -w '%{http_code}' -u alice:wrong -X POST --data-binary "@$work/check.xml" "$ext")
[ "$code" = 401 ] || { echo "bench: a wrong password got $code" >&2; exit 1; }

cat > "$work/inside.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.body = [[$body]]
LUA
# A long timeout: bcrypt on a busy machine takes longer than wrk's 2 s
# default at 16 connections, and a timed-out request would not count.
run() { wrk -t2 -c16 -d"${secs}s" --timeout 30s -s "$1" "$2"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
total() { awk '/requests in/ {print $1}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a/b; else print "-" }'; }

refused_before=$(grep -c 'msg="credentials refused"' "$work/duws.log" || true)
inside=$(run "$work/inside.lua" https://127.0.0.1:18091/RequestHandler/ucdevice.upx | rps)
warm=$(run "$work/dir/warm.lua" "$ext" | rps)
cold_out=$(run "$work/dir/cold.lua" "$ext")
cold=$(echo "$cold_out" | rps)
cold_n=$(echo "$cold_out" | total)
# Last: the bcrypts still queued when wrk stops would slow what follows.
htp=$(run "$work/dir/htpasswd.lua" "$htp_ext" | rps)
non2xx=$(( $(grep -c 'msg="credentials refused"' "$work/duws.log" || true) - refused_before ))

printf 'inside checks        %9.1f req/s\n' "$inside"
printf 'outside, htpasswd    %9.1f req/s   %s x inside\n' "$htp" "$(ratio "$htp" "$inside")"
printf 'outside, ldap warm   %9.1f req/s   %s x inside   %s x htpasswd\n' "$warm" "$(ratio "$warm" "$inside")" "$(ratio "$warm" "$htp")"
printf 'outside, ldap cold   %9.1f req/s   %s x inside   %s x htpasswd   (%s requests over %s accounts)\n' "$cold" "$(ratio "$cold" "$inside")" "$(ratio "$cold" "$htp")" "$cold_n" "$users"
if [ "${cold_n:-0}" -gt "$users" ]; then
	echo "bench: the cold run repeated credentials; give more USERS for a truly cold figure" >&2
fi
if [ "$non2xx" -gt 0 ]; then
	echo "bench: $non2xx logins were refused during the runs (see the log); the figures are not all successes" >&2
	exit 1
fi
