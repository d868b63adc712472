#!/usr/bin/env bash
# The DICOM node under valgrind's memcheck (issue 19). AddressSanitizer (scripts/sanitizers.sh)
# instruments only SonoKit's own code: DCMTK, OpenSSL, SQLite, oneDNN and glibc run unchecked, and
# a node is mostly those. memcheck checks every load and store of every library. It found that
# DCMTK 3.6.7's SCP pool wrote into a freed worker ("Invalid write of size 8 at OFThread::start"),
# the cause of a heap corruption seen once in CI (fixed in Sources/CDCMTK/StorageSCP.cpp).
#
# `sonokit listen --predict --forward-sr` (release build, as users run it) under memcheck:
#   - TCP connections opened and closed without a word (port probes),
#   - C-ECHOs from an allowed caller, and from callers the --allow list rejects,
#   - a push of one patient's ultrasound images (2 studies, 4 instances, several transfer
#     syntaxes) with DCMTK's storescu; each study predicted once complete, its SR sent to storescp,
#   - SIGTERM: the node must stop with status 0.
# Fails when memcheck reports an invalid read or write, a use of freed or unallocated memory, a
# bad free, overlapping memcpy arguments or a system call given unaddressable memory (leaks and
# uninitialised values are not counted: the Swift runtime's metadata initialisation reads
# uninitialised padding by design). Prints memcheck's report of every such error.
#
# Usage: scripts/node/memcheck.sh [--binary PATH] [--keep]
#   --binary  a sonokit binary (default: `swift build -c release --product sonokit` first)
#   --keep    keep the work folder and print where it is
# Needs valgrind, binutils' objcopy, DCMTK's tools (scripts/setup.sh installs them). About 2 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/node/lib.sh

binary="" keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "memcheck: unknown option $1 (usage: $0 [--binary PATH] [--keep])" >&2; exit 2 ;;
  esac
done
for tool in valgrind objcopy storescu storescp echoscu; do
  command -v "$tool" >/dev/null || { echo "memcheck: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
if [[ -z "$binary" ]]; then
  swift build -c release --product sonokit 2>&1 | tail -1
  binary="$(swift build -c release --show-bin-path)/sonokit"
fi
work="$(mktemp -d)"
node_pid="" pacs_pid=""
cleanup() {
  [[ -n "$node_pid" ]] && kill -KILL "$node_pid" 2>/dev/null || true
  [[ -n "$pacs_pid" ]] && kill -TERM "$pacs_pid" 2>/dev/null || true
  if ((keep)); then echo "memcheck: work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
start=$SECONDS

# valgrind 3.19 cannot read the DWARF 5 debug information of Swift 6's clang: a copy without it.
objcopy --strip-debug "$binary" "$work/sonokit"

# A small run to predict with (the same recipe as ListenPredictTests), not under valgrind.
patient=SampleStudies/SITEA/P4C821C
"$work/sonokit" ingest SampleStudies --catalog "$work/train.sqlite" > "$work/ingest.log" 2>&1
"$work/sonokit" manifest split SampleStudies/labels.csv --catalog "$work/train.sqlite" --classes benign,malignant --positive malignant \
  --ratios 0.6,0.2,0.2 --seed 7 -o "$work/splits.csv" > "$work/split.log" 2>&1
"$work/sonokit" train SampleStudies/labels.csv --catalog "$work/train.sqlite" --classes benign,malignant --positive malignant \
  --no-pixel-check --splits "$work/splits.csv" --model small --size 32 --frames uniform:2 --normalize unit --epochs 1 --seed 3 \
  -o "$work/run" > "$work/train.log" 2>&1
echo "memcheck: trained a small run in $((SECONDS - start)) s"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { grep -q "$(printf ':%04X 00000000:0000 0A' "$1")" /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
wait_listening() {  # wait_listening PORT PID SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

pacs_port=$(free_port)
mkdir -p "$work/pacs"
timeout -k 5 900 storescp --aetitle PACS -od "$work/pacs" "$pacs_port" > "$work/pacs.log" 2>&1 &
pacs_pid=$!
wait_listening "$pacs_port" "$pacs_pid" 30 || { echo "memcheck: storescp did not listen"; exit 1; }

port=$(free_port)
valgrind --tool=memcheck --error-limit=no --num-callers=40 --undef-value-errors=no --leak-check=no \
  --log-file="$work/memcheck.log" \
  "$work/sonokit" listen --port "$port" --ae-title SONOKIT --store "$work/store" --catalog "$work/node.sqlite" \
    --allow ECHOSCU@127.0.0.1 --allow STORESCU@127.0.0.1 --min-free-space 0 --timeout 60 \
    --predict "$work/run" --study-timeout 2s --out "$work/out" --forward-sr "PACS@127.0.0.1:$pacs_port" \
  > "$work/node.log" 2>&1 &
node_pid=$!
wait_listening "$port" "$node_pid" 300 || { echo "memcheck: the node did not listen:"; tail -20 "$work/node.log" "$work/memcheck.log"; exit 1; }
echo "memcheck: the node listens under valgrind ($((SECONDS - start)) s)"

for i in 1 2 3 4 5 6 7 8 9 10; do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || true; done
for i in 1 2 3; do
  timeout -k 5 120 echoscu -to 60 -ta 60 -td 60 -aec SONOKIT 127.0.0.1 "$port" > /dev/null 2>&1 || { echo "memcheck: C-ECHO $i failed"; exit 1; }
  if timeout -k 5 120 echoscu -to 60 -ta 60 -td 60 -aet INTRUDER -aec SONOKIT 127.0.0.1 "$port" > /dev/null 2>&1; then
    echo "memcheck: a caller outside --allow was accepted"; exit 1
  fi
done
node_storescu_config "$work/storescu.cfg"
mapfile -t files < <(node_image_files | grep "/${patient#SampleStudies/}/")
timeout -k 5 600 storescu -to 60 -ta 60 -td 60 -aec SONOKIT -xf "$work/storescu.cfg" Each 127.0.0.1 "$port" "${files[@]}" > "$work/storescu.log" 2>&1 \
  || { echo "memcheck: storescu failed:"; tail -5 "$work/storescu.log"; exit 1; }
echo "memcheck: probes, 3 accepted and 3 rejected C-ECHOs, ${#files[@]} instances pushed ($((SECONDS - start)) s)"

studies=$(for f in "${files[@]}"; do dcmdump -q +P 0020,000d "$f"; done | sort -u | wc -l)
for ((i = 0; i < 600; i++)); do
  sent=$(grep -c ": SR sent to PACS" "$work/node.log" || true)
  ((sent >= studies)) && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 1
done
echo "memcheck: $sent of $studies studies predicted and their SRs sent ($((SECONDS - start)) s)"
kill -TERM "$node_pid" 2>/dev/null || true
status=0; wait "$node_pid" || status=$?
node_pid=""

errors=$(grep -cE "== (Invalid (read|write|free)|Mismatched free|Source and destination overlap|Syscall param .* (points to unaddressable|contains unaddressable)|Process terminating)" "$work/memcheck.log" || true)
if ((errors > 0)); then
  echo "memcheck: $errors memory error(s) in sonokit listen:"
  grep -E -A 30 "== (Invalid (read|write|free)|Mismatched free|Source and destination overlap|Syscall param|Process terminating)" "$work/memcheck.log" | head -400
  exit 1
fi
if ((status != 0)) || ((sent < studies)) || ! grep -q "^stopped: ${#files[@]} instances stored" "$work/node.log"; then
  echo "memcheck: the node did not finish as expected (exit $status, $sent of $studies SRs sent):"
  tail -30 "$work/node.log"
  exit 1
fi
echo "memcheck: sonokit listen --predict --forward-sr: no memory error under valgrind memcheck; exit 0 after SIGTERM ($((SECONDS - start)) s)"
