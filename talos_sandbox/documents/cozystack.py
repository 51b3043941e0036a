"""CozyStack's install for this sandbox: the files written beside the stack under
`cozystack/`, and where its installer comes from.

v0: a ConfigMap in `cozy-system` plus the release's `cozystack-installer.yaml`
(cozystack/website: content/en/docs/v0/install/cozystack/_index.md; keys from
content/en/docs/v0/operations/configuration/configmap.md).
v1: the cozy-installer Helm chart with values from the release matrix (the operator and
package collection by digest; on arm64 the design owners' builds), then the platform
Package (content/en/docs/v1.5/getting-started/install-cozystack.md).
"""

from __future__ import annotations

from ..config import SandboxConfig
from ..facts.releases import COZY_INSTALLER_CHART
from .render import render
from .talos_storage import LINSTOR_POOL, LOCAL_CLASS, PARTITION_DEVICE, REPLICAS, REPLICATED_CLASS

NAMESPACE = "cozy-system"
# The chart's Helm release, and the PackageSource its operator creates for the platform
# Package (whose name must match it).
HELM_RELEASE = "cozystack"
PACKAGE_SOURCE = "cozystack.cozystack-platform"
# Where CozyStack runs LINSTOR (its controller deployment linstor-controller), and the
# label of its satellite pods (one per node; the Piraeus operator's).
LINSTOR_NAMESPACE = "cozy-linstor"
LINSTOR_SATELLITES = "app.kubernetes.io/component=linstor-satellite"
INSTALL_DIR = "cozystack"
CONFIGMAP_FILE = f"{INSTALL_DIR}/configmap.yaml"
HELM_VALUES_FILE = f"{INSTALL_DIR}/values.yaml"
PACKAGE_FILE = f"{INSTALL_DIR}/platform-package.yaml"
STORAGE_CLASSES_FILE = f"{INSTALL_DIR}/storage-classes.yaml"
# The services CozyStack's minimal ConfigMap exposes through the root tenant's ingress.
EXPOSED_SERVICES = ("dashboard", "api")
# The ClusterIssuer v1's services get their certificates from (Package
# publishing.certificates.issuerName). CozyStack defaults to letsencrypt-prod with HTTP-01,
# which needs port 80 reachable from the internet: never in this sandbox. Its issuers
# chart also ships this self-signed one (cozystack/cozystack v1.3.5-v1.6.2:
# packages/system/cert-manager-issuers/templates/cluster-issuers.yaml), which works on
# any name. v0 has no such setting (its dashboard Ingress names letsencrypt-prod): the
# ingress then serves its default self-signed certificate, which works the same way.
CERTIFICATE_ISSUER = "selfsigned-cluster-issuer"


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
    nip.io in dash notation, on the first load-balancer address or the first control plane.

    Why nip.io on the ingress' own address: `dashboard.<host>` then resolves to that address
    through public DNS from anywhere in the VPC (the bastion, the nodes, pods), with no DNS
    zone to run, and the self-signed issuer (CERTIFICATE_ISSUER) certifies any name. On the
    operator's machine the name must point at the Session Manager tunnel instead: the
    runbook's `dashboard` step maps it to 127.0.0.1. A name of your own (`root_host`)
    needs the same two answers from your DNS.
    """
    if config.cozystack.root_host:
        return config.cozystack.root_host
    addresses = config.loadbalancer.addresses or (config.first_control_plane.private_ip,)
    return f"{str(addresses[0]).replace('.', '-')}.nip.io"


def configmap(config: SandboxConfig) -> str:
    cozystack = config.cozystack
    data = {
        "bundle-name": cozystack.bundle,
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


def chart_version(config: SandboxConfig) -> str:
    """The cozy-installer chart's version: the release without its `v`."""
    return config.cozystack.version.removeprefix("v")


def helm_values(config: SandboxConfig) -> str:
    build = config.cozystack_build
    return render(
        "cozystack-helm-values.yaml.j2",
        name=config.name,
        version=config.cozystack.version,
        arch=config.architecture,
        source=build.source if build and build.operator else "the chart's own defaults: no build in the matrix",
        chart=COZY_INSTALLER_CHART,
        chart_version=chart_version(config),
        namespace=NAMESPACE,
        operator=build.operator if build else None,
        platform_source_url=build.platform_source_url if build else None,
        platform_source_ref=build.platform_source_ref if build else None,
    )


def platform_package(config: SandboxConfig) -> str:
    cozystack = config.cozystack
    return render(
        "cozystack-platform-package.yaml.j2",
        name=config.name,
        package_name=PACKAGE_SOURCE,
        version=cozystack.version,
        variant=cozystack.bundle,
        root_host=root_host(config),
        api_server_endpoint=config.control_plane_endpoint,
        exposed_services=EXPOSED_SERVICES,
        external_ips=external_ips(config),
        issuer=CERTIFICATE_ISSUER,
        cluster_domain=cozystack.cluster_domain,
        pod_cidr=str(cozystack.pod_cidr),
        pod_gateway=str(cozystack.pod_gateway),
        service_cidr=str(cozystack.service_cidr),
        join_cidr=str(cozystack.join_cidr),
    )


def storage_classes(config: SandboxConfig) -> str:
    """LINSTOR's two classes on the pool the install makes on every node's partition."""
    return render(
        "cozystack-storage-classes.yaml.j2",
        name=config.name,
        version=config.cozystack.version,
        local=LOCAL_CLASS,
        replicated=REPLICATED_CLASS,
        replicas=min(REPLICAS, len(config.nodes)),
        pool=LINSTOR_POOL,
        partition=PARTITION_DEVICE,
    )


def install_files(config: SandboxConfig) -> dict[str, str]:
    """The install's files by relative path; none when CozyStack is off."""
    if not config.cozystack.enabled:
        return {}
    if config.cozystack.major == 0:
        return {CONFIGMAP_FILE: configmap(config)}
    return {
        HELM_VALUES_FILE: helm_values(config),
        PACKAGE_FILE: platform_package(config),
        STORAGE_CLASSES_FILE: storage_classes(config),
    }
