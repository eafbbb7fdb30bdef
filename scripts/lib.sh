# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Debug builds (tests, scripts/run) take release's assertion setting; preconditions stay
# on. grpc-swift-nio-transport 2.9.2 asserts "Can't close stream N, it wasn't open" when a
# call's deadline races the creation of its HTTP/2 stream on a loaded machine: its own
# bookkeeping, skipped in release builds, yet it killed the whole test process. Every debug
# build uses these flags, so the scripts share one build.
DEBUG_FLAGS=(-Xswiftc -assert-config -Xswiftc Release)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs Debian packages that are missing. Runs apt-get update once per machine.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]} (Debian)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ ! -f /var/lib/apt/periodic/egov-updated ]; then
        $sudo apt-get update -qq
        $sudo mkdir -p /var/lib/apt/periodic && $sudo touch /var/lib/apt/periodic/egov-updated
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs the Python packages the interop client and the proto checks use.
pip_install() {
    python3 -c "import grpc, grpc_tools, grpc_reflection" 2>/dev/null && return 0
    log "installing grpcio, grpcio-tools and grpcio-reflection (PyPI)"
    python3 -m pip install -q --disable-pip-version-check grpcio grpcio-tools grpcio-reflection
}

# A stable digest of every .proto under proto/: the generated code records it,
# and a test recomputes it to tell when the generated code is stale.
proto_digest() {
    python3 - "$ROOT/proto" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
files = sorted(os.path.relpath(os.path.join(d, f), root)
               for d, _, fs in os.walk(root) for f in fs if f.endswith(".proto"))
h = hashlib.sha256()
for rel in files:
    h.update(rel.encode()); h.update(b"\0")
    with open(os.path.join(root, rel), "rb") as fh:
        h.update(fh.read())
    h.update(b"\0")
print(h.hexdigest())
PY
}
