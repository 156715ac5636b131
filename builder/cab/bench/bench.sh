#!/usr/bin/env bash
# Times `duws cab test` against `cabextract -t` on the same cabinets in one
# run and prints the ratio of throughputs (>1 means duws is faster).
#
#   builder/cab/bench/bench.sh [SIZE_MB] [ROUNDS]
#
# Cabinets of SIZE_MB (default 200) of mixed data: MSZIP written by
# `gcab -z` (one folder) and by duws's writer (four folders), and LZX
# (2 MiB window, E8) written by duws's writer with its test encoder, since
# no tool here writes LZX; plus the LZX cabinets of the shared corpus,
# concatenated in one run each. Each tool runs ROUNDS times (default 5),
# alternating; the best time of each counts. Both print an MD5 per file.
set -euo pipefail
size=${1:-200}
rounds=${2:-5}
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in cabextract gcab; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
(cd "$top" && go build -o "$work/duws" ./cmd/duws && go run ./builder/cab/bench/gen -size "$size" -dir "$work/src" -cab "$work/duws.cab" &&
	go run ./builder/cab/bench/gen -size "$size" -dir "$work/src-lzx" -cab "$work/duws-lzx.cab" -method lzx)
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
for c in gcab duws duws-lzx; do
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

# The corpus's LZX cabinets that the reference extracts, all in one run of
# each tool (they are small: this measures per-cabinet overhead as much as
# decoding).
corpus="$top/../shared/cabs"
if [ -d "$corpus" ]; then
	lzx=()
	for e in "$corpus"/expected/*/*.cab.txt; do
		if grep -q '^status: ok' "$e" && grep -q '^tags:.*lzx' "$e"; then
			rel=${e#"$corpus/expected/"}
			lzx+=("$corpus/${rel%.txt}")
		fi
	done
	tc=$(best cabextract -t "${lzx[@]}")
	td=$(best "$work/duws" cab test "${lzx[@]}")
	printf 'the corpus'"'"'s %d LZX cabinets, in one run:\n' "${#lzx[@]}"
	printf '  cabextract -t   %6.3f s\n  duws cab test   %6.3f s\n' "$tc" "$td"
	printf '  ratio duws/cabextract: %sx\n' "$(awk -v a="$tc" -v b="$td" 'BEGIN{printf "%.2f", a/b}')"
fi
