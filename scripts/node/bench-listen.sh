#!/usr/bin/env bash
# The receiving side against DCMTK's storescp, in one run: the same storescu push (every ultrasound
# image file of SampleStudies in its own transfer syntax, PUSHES associations one after the other in
# each of LANES concurrent lanes) to `sonokit listen` (release build: file received bit-preserving,
# fsync, rename, indexed into the catalog, then answered) and to `storescp --fork +B` (a process
# per association, bit-preserving write to its output folder, no fsync, no index; TCP_NODELAY=1 as
# sonokit sets it). ROUNDS rounds,
# alternating which goes first. Prints instances/s and MB/s (file bytes sent) of each round, the
# means, and sonokit's mean over storescp's. Exits non-zero when a C-STORE was not answered Success.
#
# Usage: scripts/node/bench-listen.sh [--lanes 8] [--pushes 5] [--rounds 2] [--binary PATH]
#   --binary  a sonokit binary (default: `swift build -c release --product sonokit` first)
# Needs DCMTK's storescu, storescp and dcmdump and python3 (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."

lanes=8 pushes=5 rounds=2 binary=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lanes) lanes="$2"; shift 2 ;;
    --pushes) pushes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    *) echo "bench-listen: unknown option $1 (usage: $0 [--lanes N] [--pushes N] [--rounds N] [--binary PATH])" >&2; exit 2 ;;
  esac
done
if [[ -z "$binary" ]]; then
  echo "bench-listen: building the release binary (swift build -c release --product sonokit)"
  swift build -c release --product sonokit 2>&1 | tail -1
  binary=.build/release/sonokit
fi
[[ -x "$binary" ]] || { echo "bench-listen: $binary is not an executable; build it or give --binary" >&2; exit 2; }

work=$(mktemp -d /tmp/sonokit-bench-listen.XXXXXX)
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source scripts/node/lib.sh
mapfile -t files < <(node_image_files)
n=${#files[@]}
bytes=$(cat "${files[@]}" | wc -c)
total=$((lanes * pushes * n))
echo "bench-listen: $n image files ($bytes bytes); $lanes lanes x $pushes pushes = $total C-STOREs per run"
echo "bench-listen: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
node_storescu_config "$work/storescu.cfg"
node_storescp_config "$work/storescp.cfg"

fail=0
declare -A rates=() throughputs=()
# run NAME: starts the server NAME on a fresh port and store, pushes, stops it, prints the figures.
run() {
  local name=$1 port out="$work/$1-out" start end ok
  port=$(node_free_port)
  rm -rf "$out"; mkdir -p "$out"
  if [[ $name == sonokit ]]; then
    timeout -s TERM -k 10 3600 "$binary" listen --store "$out/store" --catalog "$out/node.sqlite" --port "$port" \
      --max-associations "$lanes" > "$work/$name.log" 2>&1 &
  else
    # TCP_NODELAY=1: Nagle off, as sonokit sets it for its DCMTK (storescp's default keeps it on,
    # and every response would wait for a delayed ACK).
    TCP_NODELAY=1 timeout -s TERM -k 10 3600 storescp --fork +B -od "$out" -xf "$work/storescp.cfg" All "$port" > "$work/$name.log" 2>&1 &
  fi
  server=$!
  node_wait_port "$port" || { echo "bench-listen: $name is not listening: $(cat "$work/$name.log")" >&2; exit 1; }
  start=$(date +%s.%N)
  node_push "$lanes" "$pushes" "$work/storescu.cfg" "$port" "$work/$name-lane" "${files[@]}" || true
  end=$(date +%s.%N)
  kill -TERM "$server"; wait "$server" || true; server=""
  ok=$(node_successes "$work/$name-lane" "$lanes")
  [[ $ok == "$total" ]] || { echo "bench-listen: $name: only $ok of $total C-STOREs answered Success" >&2; fail=1; }
  read -r rate mbs < <(python3 -c "d = $end - $start; print(f'{$total / d:.1f} {$bytes * $lanes * $pushes / d / 1e6:.1f}')")
  printf "  %-8s %6.1f s  %7.1f instances/s  %6.1f MB/s  (%s/%s Success)\n" "$name" \
    "$(python3 -c "print($end - $start)")" "$rate" "$mbs" "$ok" "$total"
  rates[$name]="${rates[$name]:-} $rate"
  throughputs[$name]="${throughputs[$name]:-} $mbs"
}

for round in $(seq "$rounds"); do
  echo "bench-listen: round $round"
  if ((round % 2)); then run sonokit; run storescp; else run storescp; run sonokit; fi
done
python3 - "${rates[sonokit]}" "${rates[storescp]}" "${throughputs[sonokit]}" "${throughputs[storescp]}" <<'PY'
import sys
mean = lambda text: sum(map(float, text.split())) / len(text.split())
s, d, sm, dm = (mean(a) for a in sys.argv[1:5])
print(f"bench-listen: mean sonokit listen {s:.1f} instances/s, {sm:.1f} MB/s; storescp {d:.1f} instances/s, {dm:.1f} MB/s; "
      f"sonokit/storescp {s / d:.2f}")
PY
exit $fail
