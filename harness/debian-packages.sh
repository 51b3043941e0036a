#!/usr/bin/env bash
# The Debian packages the tests run for real, in one list. Run as root with apt, it
# installs what is missing; otherwise it prints the one command that would, and the
# tests that need a missing tool skip with the reason (under CI=true they fail).
#   nftables        nft checks the bastion's nftables config; the simulated VPC's rules
#   iproute2, iputils-ping, curl, openssl   the host tests' namespaces, probes and test CA
#   wireguard-tools, wireguard-go           the simulated WireGuard peer (no kernel module here)
#   graphviz        dot renders the network diagram
#   docker-registry the CNCF registry: the cache configs' test, and the simulated release asset
#   systemd         systemd-analyze verifies the cache unit
#   systemd-container, mmdebstrap           each simulated instance: a Debian rootfs booted
#                   with systemd as PID 1 by systemd-nspawn (see harness/hostsim/rootfs.py)
set -euo pipefail
packages=(nftables iproute2 iputils-ping wireguard-tools wireguard-go curl openssl graphviz
          docker-registry systemd systemd-container mmdebstrap)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
  echo "installing Debian packages for the tests: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
  # systemd-container may pull in libnss-mymachines, which makes every name lookup ask machined.
  if grep -q mymachines /etc/nsswitch.conf; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq libnss-mymachines > /dev/null
  fi
else
  echo "Debian packages missing for some tests (they skip): ${missing[*]}"
  echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
fi
