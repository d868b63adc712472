# Shared by scripts/node/load-test.sh and bench-listen.sh (sourced from the repository root).

# The ultrasound image files of SampleStudies (not its SR, key object, DICOMDIR or CSVs), absolute,
# sorted, one per line.
node_image_files() {
  find SampleStudies -type f ! -name DICOMDIR ! -name '*.csv' | sort | while read -r f; do
    dcmdump -q +P 0008,0016 "$f" 2>/dev/null | grep -q Ultrasound && echo "$PWD/$f"
  done
}

# node_storescu_config FILE: a storescu association configuration (profile "Each") proposing each
# (US SOP class, transfer syntax) pair in its own presentation context, so that every file goes in
# its own transfer syntax (storescu's defaults would transcode to an uncompressed one).
node_storescu_config() {
  local syntaxes=(LittleEndianExplicit LittleEndianImplicit BigEndianExplicit DeflatedLittleEndianExplicit JPEGBaseline
    JPEGExtended:Process2+4 JPEGLossless:Non-hierarchical-1stOrderPrediction JPEGLossless:Non-hierarchical:Process14
    JPEGLSLossless JPEGLSLossy RLELossless)
  local i k=1 c
  {
    echo "[[TransferSyntaxes]]"
    for i in "${!syntaxes[@]}"; do echo "[TS$i]"; echo "TransferSyntax1 = ${syntaxes[$i]}"; done
    echo "[[PresentationContexts]]"; echo "[Each]"
    for c in UltrasoundImageStorage UltrasoundMultiframeImageStorage; do
      for i in "${!syntaxes[@]}"; do echo "PresentationContext$k = $c\\TS$i"; k=$((k + 1)); done
    done
    echo "[[Profiles]]"; echo "[Each]"; echo "PresentationContexts = Each"
  } > "$1"
}

# node_storescp_config FILE: a storescp association configuration (profile "All") accepting the
# US SOP classes in every one of those transfer syntaxes, and Verification.
node_storescp_config() {
  local syntaxes=(LittleEndianExplicit LittleEndianImplicit BigEndianExplicit DeflatedLittleEndianExplicit JPEGBaseline
    JPEGExtended:Process2+4 JPEGLossless:Non-hierarchical-1stOrderPrediction JPEGLossless:Non-hierarchical:Process14
    JPEGLSLossless JPEGLSLossy RLELossless)
  local i
  {
    echo "[[TransferSyntaxes]]"; echo "[Uncompressed]"; echo "TransferSyntax1 = LittleEndianExplicit"; echo "[All]"
    for i in "${!syntaxes[@]}"; do echo "TransferSyntax$((i + 1)) = ${syntaxes[$i]}"; done
    echo "[[PresentationContexts]]"; echo "[Contexts]"
    echo "PresentationContext1 = VerificationSOPClass\\Uncompressed"
    echo "PresentationContext2 = UltrasoundImageStorage\\All"
    echo "PresentationContext3 = UltrasoundMultiframeImageStorage\\All"
    echo "[[Profiles]]"; echo "[All]"; echo "PresentationContexts = Contexts"
  } > "$1"
}

# A TCP port free a moment ago on loopback.
node_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# node_wait_port PORT: waits (at most 30 s) until a socket listens on TCP PORT (/proc/net/tcp and
# tcp6, state 0A), without connecting: a probe connection would hold one of the listener's
# --max-associations workers for a moment.
node_wait_port() {
  local _ local_port
  local_port=$(printf ':%04X' "$1")
  for _ in $(seq 300); do
    awk -v p="$local_port" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# node_push LANES PUSHES CFG PORT LOGPREFIX FILES...: LANES lanes at once, each PUSHES storescu
# associations one after the other, each pushing FILES; lane i's output in LOGPREFIX-i.log.
# Returns non-zero when a storescu failed (its exit status; storescu 3.6.7 exits 0 on refused stores,
# so callers count the "Received Store Response (Success)" lines too).
node_push() {
  local lanes=$1 pushes=$2 cfg=$3 port=$4 prefix=$5 lane pid status=0
  shift 5
  local pids=()
  for lane in $(seq "$lanes"); do
    ( for _ in $(seq "$pushes"); do
        timeout -s KILL 3600 storescu -xf "$cfg" Each -v -aec SONOKIT 127.0.0.1 "$port" "$@" || exit $?
      done ) > "$prefix-$lane.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  return $status
}

# node_successes LOGPREFIX LANES: the number of "Received Store Response (Success)" over the lanes' logs.
node_successes() {
  local lane n=0
  for lane in $(seq "$2"); do n=$((n + $(grep -c 'Received Store Response (Success)' "$1-$lane.log" || true))); done
  echo "$n"
}
