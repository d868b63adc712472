#!/usr/bin/env bash
# Installs the Debian packages SonoKit needs, only those missing; quiet when all are there.
# Idempotent. Uses sudo when not root. Usage: scripts/setup.sh [--slurm]
#   --slurm  also Slurm and MUNGE, for scripts/slurm/test-cluster.sh (a one-node cluster on localhost)
set -euo pipefail

packages=(
  libdcmtk-dev dcmtk        # DICOM reading/decoding (and the reference tools dcm2pnm, dcmdump, img2dcm)
  libssl-dev                # DICOM TLS: DCMTK's dcmtls on OpenSSL (CDCMTK links libssl, libcrypto)
  openssl                   # tests: the CAs and certificates of the DICOM TLS tests
  dicom3tools               # tests: every DICOM object SonoKit writes (SRs, synthetic cohorts) must pass dciodvfy
  libturbojpeg0-dev         # JPEG baseline colour frames decoded by libjpeg-turbo (TurboJPEG API)
  libpng-dev                # PNG pictures (inspect --png, previews, reports)
  libsqlite3-dev            # the catalog (GRDB.swift)
  pkg-config
  python3-jsonschema        # tests: reports are validated against Schemas/ by an independent validator
  python3-venv              # tests: the venvs of scripts/onnx/setup-python.sh and scripts/node/setup-python.sh (pynetdicom)
  libdnnl-dev               # the CNN core: convolutions and matrix products (oneDNN, incl. its sgemm)
  libhdf5-dev               # the CNN core: Keras .h5 weight files
  valgrind                  # tests: scripts/node/memcheck.sh (the DICOM node under memcheck: DCMTK, OpenSSL, oneDNN unchecked by ASan)
  binutils                  # tests: objcopy (memcheck.sh strips DWARF 5, which valgrind 3.19 cannot read)
  chromium                  # tests: evaluation and prediction HTML opened in a real headless browser (every plot and picture must load)
)
if [[ "${1:-}" == "--slurm" ]]; then
  packages+=(slurm-wlm munge)   # scripts/slurm/test-cluster.sh: slurmctld, slurmd, sbatch; munged authenticates them
elif [[ $# -gt 0 ]]; then
  echo "setup: unknown option $1 (usage: scripts/setup.sh [--slurm])" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (6.x) is not on PATH; install it from swift.org and re-run." >&2
  exit 1
fi
