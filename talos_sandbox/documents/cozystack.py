"""CozyStack's install for this sandbox: the `cozystack` ConfigMap written beside the
stack, and where its installer comes from.

For the CozyStack v0 releases that ship Talos v1.11, the install is a ConfigMap in
`cozy-system` plus the release's `cozystack-installer.yaml` (cozystack/website:
content/en/docs/v0/install/cozystack/_index.md; keys from
content/en/docs/v0/operations/configuration/configmap.md).
"""

from __future__ import annotations

from ..config import SandboxConfig
from .render import render

NAMESPACE = "cozy-system"
INSTALL_DIR = "cozystack"
CONFIGMAP_FILE = f"{INSTALL_DIR}/configmap.yaml"
# The services CozyStack's minimal ConfigMap exposes through the root tenant's ingress.
EXPOSED_SERVICES = ("dashboard", "api")


def installer_url(version: str) -> str:
    return f"https://github.com/cozystack/cozystack/releases/download/{version}/cozystack-installer.yaml"


def external_ips(config: SandboxConfig) -> tuple[str, ...]:
    """Addresses the ingress is published on (ConfigMap expose-external-ips): the
    load-balancer addresses when the VPC delivers them to a node (eni-secondary-ips)."""
    if config.loadbalancer.mode != "eni-secondary-ips":
        return ()
    return tuple(str(address) for address in config.loadbalancer.addresses)


def root_host(config: SandboxConfig) -> str:
    """The configured domain, else CozyStack's suggestion for an address without one:
    nip.io in dash notation, on the first load-balancer address or the first control plane."""
    if config.cozystack.root_host:
        return config.cozystack.root_host
    addresses = config.loadbalancer.addresses or (config.first_control_plane.private_ip,)
    return f"{str(addresses[0]).replace('.', '-')}.nip.io"


def configmap(config: SandboxConfig) -> str:
    cozystack = config.cozystack
    data = {
        "bundle-name": cozystack.bundle_name,
        "root-host": root_host(config),
        "api-server-endpoint": config.control_plane_endpoint,
        "expose-services": ",".join(EXPOSED_SERVICES),
        # Read by CozyStack's charts (default cozy.local), though not in the reference table.
        "cluster-domain": cozystack.cluster_domain,
        "ipv4-pod-cidr": str(cozystack.pod_cidr),
        "ipv4-pod-gateway": str(cozystack.pod_gateway),
        "ipv4-svc-cidr": str(cozystack.service_cidr),
        "ipv4-join-cidr": str(cozystack.join_cidr),
    }
    if external_ips(config):
        data["expose-external-ips"] = ",".join(external_ips(config))
    return render(
        "cozystack-configmap.yaml.j2", name=config.name, version=cozystack.version, namespace=NAMESPACE, data=data
    )


def install_files(config: SandboxConfig) -> dict[str, str]:
    """The install's files by relative path; none when CozyStack is off."""
    return {CONFIGMAP_FILE: configmap(config)} if config.cozystack.enabled else {}
