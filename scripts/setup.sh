#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) to build, run and test the
# suite: Debian packages the tests and demo use, pnpm, dependencies, the
# native build and TypeScript, and the commands linked into /usr/local/bin.
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  build-essential        # gcc + make for native/
  iproute2               # ip netns / ip link in tests and examples
  iputils-ping           # ping for the demo's cross-checks and tests
  busybox-static         # minimal root filesystems for containode tests
  iperf3                 # network benchmark
  vde2                   # vde_switch, the benchmark's reference
  docker-registry        # a real registry on 127.0.0.1 for mocker tests
  skopeo umoci           # mocker's references: pushing test images, bench
  runc                   # containode-oci's reference in the OCI benchmark
  tcpdump                # decoding containet captures in tests
  nftables iptables      # NAT and forwarding rules for host connectivity
  apache2-utils          # htpasswd for the registry's Basic auth test
  zstd                   # mocker tests compress zstd layers with it
  chromium               # headless page test of the dashboard
  ethtool                # containet VXLAN tests: software checksums on a kernel vxlan peer
  openssl                # a test CA and registry certificate for mocker's HTTPS test
  attr                   # getfattr: mocker's unpack test compares extended attributes with umoci's
  libseccomp-dev         # containode-spawn builds its default system-call filter with libseccomp
  pkg-config             # finds libseccomp for the native build
  liburing-dev           # libcontainet's io_uring datapath (links liburing 2.3)
  libpcap-dev            # containet capture filters: pcap-filter(7) expressions compiled to classic BPF
  containernetworking-plugins  # CNI's host-local, bridge, portmap, bandwidth, firewall: containet-cni's IPAM, chaining tests, benchmark reference
  podman                 # a real CNI client (4.3 uses CNI) for containet-cni's tests
  containerd             # containerd 1.6 + ctr: a real client of containode-oci (its runc shim runs it) in containode's tests
  bash-completion zsh    # the completion scripts below; their tests load them in both shells
  man-db                 # man(1) for the man pages below; their tests render them with man -l
)

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (it installs Debian packages and links commands into /usr/local/bin)" >&2
  exit 1
fi

missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# docker-registry's package enables a service on :5000; tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" --no-fund --no-audit
fi

pnpm install --frozen-lockfile --prefer-offline
pnpm run build

# The commands on PATH point at the launchers in this checkout.
for bin in packages/*/bin/*.js packages/*/bin/*.cjs; do
  name=$(basename "$(basename "$bin" .cjs)" .js)
  ln -sfn "$PWD/$bin" "/usr/local/bin/$name"
done
# Where CNI runtimes look for plugins (podman, containerd, kubelet): the
# CNI plugin is installed as type "containet".
mkdir -p /opt/cni/bin /usr/lib/cni
ln -sfn "$PWD/packages/cni/bin/containet-cni.cjs" /opt/cni/bin/containet
ln -sfn "$PWD/packages/cni/bin/containet-cni.cjs" /usr/lib/cni/containet
# Shell completion and man pages, each printed by its command from the
# definitions it parses with (`NAME completion bash|zsh|man`): bash-completion
# loads a command's script from its directory when the command is first
# completed, Debian's zsh has vendor-completions on its fpath, and man finds
# /usr/local/share/man. containode-oci's page is in section 8, as runc(8).
mkdir -p /usr/share/bash-completion/completions /usr/share/zsh/vendor-completions /usr/local/share/man/man1 /usr/local/share/man/man8
for bin in packages/containet/bin/containet.js packages/containode/bin/containode.js packages/containode/bin/containode-oci.cjs packages/mocker/bin/mocker.cjs; do
  name=$(basename "$(basename "$bin" .cjs)" .js)
  section=1
  [ "$name" = containode-oci ] && section=8
  node "$bin" completion bash > "/usr/share/bash-completion/completions/$name"
  node "$bin" completion zsh > "/usr/share/zsh/vendor-completions/_$name"
  node "$bin" completion man > "/usr/local/share/man/man$section/$name.$section"
done
# containet-cni is run by engines, not typed: a man page, no completion.
node packages/cni/dist/src/print-manual.js > /usr/local/share/man/man8/containet-cni.8
if command -v mandb >/dev/null 2>&1; then mandb -q /usr/local/share/man >/dev/null 2>&1 || true; fi
echo "setup: done (containet, containode, containode-oci, mocker are on PATH)"
