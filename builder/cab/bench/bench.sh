#!/usr/bin/env bash
# Times `duws cab test` against `cabextract -t` on the same MSZIP cabinets
# in one run and prints the ratio of throughputs (>1 means duws is faster).
#
#   builder/cab/bench/bench.sh [SIZE_MB] [ROUNDS]
#
# Two cabinets of SIZE_MB (default 200) of mixed data: one written by
# `gcab -z` (one folder), one by duws's writer (four folders). Each tool
# runs ROUNDS times (default 5), alternating; the best time of each counts.
set -euo pipefail
size=${1:-200}
rounds=${2:-5}
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in cabextract gcab; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
(cd "$top" && go build -o "$work/duws" ./cmd/duws && go run ./builder/cab/bench/gen -size "$size" -dir "$work/src" -cab "$work/duws.cab")
(cd "$work/src" && gcab -c -z "$work/gcab.cab" text.txt image.nbt random.bin zeros.bin)

best() { # best wall time in seconds of running "$@" $rounds times
	local b=""
	for _ in $(seq "$rounds"); do
		local s e t
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", e-s}')
		if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t < b)}'; then b=$t; fi
	done
	echo "$b"
}

bytes=$(du -b "$work/src" | cut -f1)
for c in gcab duws; do
	f="$work/$c.cab"
	# Warm the page cache so both read from memory.
	cat "$f" >/dev/null
	tc=$(best cabextract -t "$f")
	td=$(best "$work/duws" cab test "$f")
	mbc=$(awk -v n="$bytes" -v t="$tc" 'BEGIN{printf "%.1f", n/t/1e6}')
	mbd=$(awk -v n="$bytes" -v t="$td" 'BEGIN{printf "%.1f", n/t/1e6}')
	printf '%s-written cabinet (%d MB uncompressed, %d MB compressed):\n' "$c" $((bytes / 1000000)) $(($(stat -c %s "$f") / 1000000))
	printf '  cabextract -t   %6.3f s  %7.1f MB/s\n' "$tc" "$mbc"
	printf '  duws cab test   %6.3f s  %7.1f MB/s\n' "$td" "$mbd"
	printf '  ratio duws/cabextract: %sx\n' "$(awk -v a="$mbd" -v b="$mbc" 'BEGIN{printf "%.2f", a/b}')"
done
