"""CozyStack's install: the files the stack writes (v0: a ConfigMap; v1: Helm values and
the platform Package), and where the installer comes from."""

from __future__ import annotations

import yaml

from talos_sandbox.config import default_config
from talos_sandbox.documents.cozystack import (
    CONFIGMAP_FILE,
    HELM_VALUES_FILE,
    PACKAGE_FILE,
    STORAGE_CLASSES_FILE,
    configmap,
    install_files,
    installer_url,
    root_host,
    storage_classes,
)

from ..conftest import make_config

V0 = {"node_defaults": {"instance_type": "m8i.2xlarge"}, "cozystack": {"version": "v0.41.11"}}


def v0(**cozystack):
    return make_config(**{**V0, "cozystack": {**V0["cozystack"], **cozystack}})


def test_configmap_for_v0():
    document = yaml.safe_load(configmap(v0()))
    assert document["apiVersion"] == "v1" and document["kind"] == "ConfigMap"
    assert document["metadata"] == {"name": "cozystack", "namespace": "cozy-system"}
    assert document["data"] == {
        "bundle-name": "paas-full",
        "root-host": "10-10-0-101.nip.io",
        "api-server-endpoint": "https://10.10.0.101:6443",
        "expose-services": "dashboard,api",
        "cluster-domain": "cozy.local",
        "ipv4-pod-cidr": "10.244.0.0/16",
        "ipv4-pod-gateway": "10.244.0.1",
        "ipv4-svc-cidr": "10.96.0.0/16",
        "ipv4-join-cidr": "100.64.0.0/16",
    }


def test_configmap_follows_config():
    config = make_config(
        node_defaults=V0["node_defaults"],
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]},
        cozystack={"version": "v0.41.11", "bundle_name": "distro-full", "pod_cidr": "10.32.0.0/16",
                   "root_host": "cozy.example.org"},
    )
    data = yaml.safe_load(configmap(config))["data"]
    assert data["expose-external-ips"] == "10.10.0.200,10.10.0.201"
    assert data["root-host"] == "cozy.example.org" and data["bundle-name"] == "distro-full"
    assert (data["ipv4-pod-cidr"], data["ipv4-pod-gateway"]) == ("10.32.0.0/16", "10.32.0.1")


def test_root_host_defaults_to_nip_io_on_the_service_address():
    metallb = make_config(**V0, loadbalancer={"mode": "metallb-l2", "addresses": ["10.10.0.200"]})
    assert root_host(metallb) == "10-10-0-200.nip.io"
    # MetalLB L2 cannot publish on a VPC: external IPs only where the VPC delivers them.
    assert "expose-external-ips" not in configmap(metallb)


def test_files_and_installer():
    assert set(install_files(v0())) == {CONFIGMAP_FILE}
    assert set(install_files(default_config())) == {HELM_VALUES_FILE, PACKAGE_FILE, STORAGE_CLASSES_FILE}
    assert install_files(make_config(cozystack={"enabled": False})) == {}
    assert installer_url("v0.41.11") == (
        "https://github.com/cozystack/cozystack/releases/download/v0.41.11/cozystack-installer.yaml"
    )


def test_v1_helm_values_point_the_operator_at_the_architectures_build():
    arm64 = yaml.safe_load(install_files(default_config())[HELM_VALUES_FILE])["cozystackOperator"]
    assert arm64["image"].startswith("ghcr.io/urmanac/cozystack-assets/cozystack-operator@sha256:")
    assert arm64["platformSourceUrl"] == "oci://ghcr.io/urmanac/cozystack-assets/cozystack-packages"
    amd64 = make_config(node_defaults={"instance_type": "m8i.2xlarge"})
    upstream = yaml.safe_load(install_files(amd64)[HELM_VALUES_FILE])["cozystackOperator"]
    assert upstream["image"].startswith("ghcr.io/cozystack/cozystack/cozystack-operator:v1.5.1@sha256:")
    assert upstream["platformSourceRef"].startswith("digest=sha256:") and upstream["variant"] == "talos"


def test_v1_platform_package_carries_this_network():
    config = make_config(loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]})
    package = yaml.safe_load(install_files(config)[PACKAGE_FILE])
    assert (package["apiVersion"], package["kind"]) == ("cozystack.io/v1alpha1", "Package")
    assert package["metadata"]["name"] == "cozystack.cozystack-platform" and package["spec"]["variant"] == "isp-full"
    values = package["spec"]["components"]["platform"]["values"]
    assert values["publishing"]["host"] == "10-10-0-200.nip.io"
    assert values["publishing"]["externalIPs"] == ["10.10.0.200"]
    # Let's Encrypt cannot reach a private sandbox: CozyStack's bundled self-signed issuer.
    assert values["publishing"]["certificates"] == {"issuerName": "selfsigned-cluster-issuer"}
    assert values["publishing"]["apiServerEndpoint"] == "https://10.10.0.101:6443"
    assert values["networking"] == {"clusterDomain": "cozy.local", "podCIDR": "10.244.0.0/16",
                                    "podGateway": "10.244.0.1", "serviceCIDR": "10.96.0.0/16",
                                    "joinCIDR": "100.64.0.0/16"}  # fmt: skip


def test_storage_classes_are_the_install_guides_on_the_pool_the_unit_makes():
    local, replicated = yaml.safe_load_all(storage_classes(default_config()))
    assert local["metadata"] == {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}
    assert local["parameters"]["linstor.csi.linbit.com/layerList"] == "storage"
    assert local["volumeBindingMode"] == "WaitForFirstConsumer"
    assert replicated["parameters"]["linstor.csi.linbit.com/autoPlace"] == "3"
    assert replicated["parameters"]["linstor.csi.linbit.com/layerList"] == "drbd storage"
    for found in (local, replicated):
        assert found["provisioner"] == "linstor.csi.linbit.com" and found["allowVolumeExpansion"] is True
        assert found["parameters"]["linstor.csi.linbit.com/storagePool"] == "data"
    one = make_config(nodes=[{"name": "solo", "private_ip": "10.10.0.101", "role": "gateway"}])
    assert list(yaml.safe_load_all(storage_classes(one)))[1]["parameters"]["linstor.csi.linbit.com/autoPlace"] == "1"
