#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer, from the Swift toolchain) of the two
# parsers of untrusted input: the DICOM reader (scripts/fuzz/Sources/FuzzDicomReader) and the
# label-manifest parser (FuzzManifestParser). Usage:
#
#     scripts/fuzz.sh [SECONDS] [TARGET...]    # default: 60 seconds each, both targets
#
# Builds the package scripts/fuzz/ (which depends on the root package by path) into .build-fuzz/,
# seeds each target with SampleStudies/ and the reader's bad-input and regression fixtures (the
# manifest target with SampleStudies/labels.csv and the manifest regression inputs), runs it for
# SECONDS, and prints one line per target: executions, executions/s, corpus size and crashes.
# The growing corpus stays in .build-fuzz/corpus/ between runs. A crash (or leak, timeout, or
# out-of-memory) leaves its input in .build-fuzz/artifacts/TARGET/ and makes the script fail: fix
# the bug, then commit the input to Tests/DICOMTests/Fixtures/fuzz-regressions/ (or
# Tests/ManifestTests/Fixtures/fuzz-regressions/ without its first byte, the options byte) so the
# normal tests run it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzDicomReader FuzzManifestParser)
scratch="$root/.build-fuzz"
# SwiftPM's --sanitize=fuzzer --sanitize=address instruments C and C++ (the CDCMTK shim) for
# coverage and AddressSanitizer and leaves `main` to libFuzzer. For Swift it passes two separate
# -sanitize= options, and swiftc keeps only the last: Swift code got AddressSanitizer but no
# coverage, so the manifest parser (all Swift) gave libFuzzer no feedback (CI: "corpus 0") and the
# reader's Swift half (metadata, regions, frame checks) none either. The combined option, passed
# after SwiftPM's, restores both.
flags=(-c debug --scratch-path "$scratch" --package-path scripts/fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address)

echo "fuzz: building ${targets[*]} (libFuzzer, AddressSanitizer) into .build-fuzz"
for t in "${targets[@]}"; do swift build "${flags[@]}" --product "$t"; done
bin="$(swift build "${flags[@]}" --show-bin-path)"

seeds="$scratch/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/FuzzDicomReader" "$seeds/FuzzManifestParser"
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1)); cp "$f" "$seeds/FuzzDicomReader/sample-$n"
done < <(find SampleStudies -type f ! -name '*.csv' ! -name '*.md' -print0
         find Tests/DICOMTests/Fixtures/bad Tests/DICOMTests/Fixtures/reader -name '*.dcm' -print0
         find Tests/DICOMTests/Fixtures/fuzz-regressions -type f ! -name '*.md' -print0 2>/dev/null)
# Manifest inputs start with the options byte (see FuzzManifestParser): 0 (classes from a comment,
# delimiter detected) and 1 (classes given) for each seed file.
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    { printf '\000'; cat "$f"; } > "$seeds/FuzzManifestParser/seed-$n-0"
    { printf '\001'; cat "$f"; } > "$seeds/FuzzManifestParser/seed-$n-1"
done < <(find SampleStudies -name '*.csv' -print0
         find scripts/fuzz/seeds/manifest Tests/ManifestTests/Fixtures/fuzz-regressions -type f ! -name '*.md' -print0 2>/dev/null)

failed=0
for t in "${targets[@]}"; do
    corpus="$scratch/corpus/$t" artifacts="$scratch/artifacts/$t" log="$scratch/$t.log"
    mkdir -p "$corpus" "$artifacts"
    echo "fuzz: $t for ${seconds}s (log: .build-fuzz/$t.log)"
    status=0
    # DICOM inputs up to 128 KiB: mutating SampleStudies' 1 MiB cine files whole would run ~50
    # inputs/s; the small fixtures of make_bad_inputs.py keep whole valid images under the limit.
    maxlen=(); [ "$t" = FuzzDicomReader ] && maxlen=(-max_len=131072)
    # -rss_limit_mb: more than 2 GiB of memory in use is reported as a bug. -malloc_limit_mb=4097:
    # a single allocation above 4 GiB too; below that, DCMTK reserves the declared length of an
    # element of a deflated file before it finds the stream short (it cannot leave such values on
    # disk), untouched virtual memory that a normal run gets back with a typed "truncated" error
    # (Tests/DICOMTests/Fixtures/fuzz-regressions/deflate-element-length-2-6-gib.dcm).
    # FUZZ_SEED fixes libFuzzer's mutation sequence (CI sets it, so a CI run is reproducible: the
    # same inputs in the same order, a slower machine running a prefix of them); unset, every run
    # explores new inputs.
    seedopt=(); [ -n "${FUZZ_SEED:-}" ] && seedopt=(-seed="$FUZZ_SEED")
    # No leak detection for the reader: DCMTK's parser is not exception-safe, and the exceptions the
    # shim catches at its C boundary (Fixtures/fuzz-regressions/dcmtk-string-erase-exception.dcm)
    # leave DCMTK's partly built data set behind, a few KiB per damaged file.
    leaks=1; [ "$t" = FuzzDicomReader ] && leaks=0
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=$leaks "$bin/$t" "$corpus" "$seeds/$t" -max_total_time="$seconds" -timeout=10 "${maxlen[@]}" "${seedopt[@]}" \
        -rss_limit_mb=2048 -malloc_limit_mb=4097 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        > "$log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tr -dc 0-9 || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tr -dc 0-9 || true)
    crashes=$(find "$artifacts" -type f | wc -l)
    # libFuzzer's corpus (seeds that add coverage + inputs found) and the coverage it reached, from
    # its last status line; the new inputs it saved are the files in .build-fuzz/corpus/TARGET.
    corp=$(grep -oE '(INITED|DONE|pulse|NEW|REDUCE).* corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | tr -dc 0-9 || true)
    saved=$(find "$corpus" -type f | wc -l)
    echo "fuzz: $t: ${execs:-0} executions, ${rate:-0}/s, coverage ${cov:-none} edges, corpus ${corp:-0} inputs ($saved saved in .build-fuzz/corpus/$t), $crashes crash(es) in .build-fuzz/artifacts/$t (exit $status)"
    # No coverage feedback means blind random inputs: a build problem, not a result.
    if [ -z "$cov" ] || [ "${corp:-0}" -eq 0 ]; then
        echo "fuzz: $t is not instrumented for coverage or started from no seed (see the INITED line of .build-fuzz/$t.log)" >&2
        failed=1
    fi
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        grep -m5 -E 'ERROR|SUMMARY|Fatal error|deadly signal' "$log" || true
    fi
done
exit "$failed"
