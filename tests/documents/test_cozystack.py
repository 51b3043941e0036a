"""CozyStack's install: the ConfigMap the stack writes, and where the installer comes from."""

from __future__ import annotations

import yaml

from talos_sandbox.config import default_config
from talos_sandbox.documents.cozystack import CONFIGMAP_FILE, configmap, install_files, installer_url, root_host

from ..conftest import make_config


def test_configmap_for_the_default():
    document = yaml.safe_load(configmap(default_config()))
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
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]},
        cozystack={"bundle_name": "distro-full", "pod_cidr": "10.32.0.0/16", "root_host": "cozy.example.org"},
    )
    data = yaml.safe_load(configmap(config))["data"]
    assert data["expose-external-ips"] == "10.10.0.200,10.10.0.201"
    assert data["root-host"] == "cozy.example.org" and data["bundle-name"] == "distro-full"
    assert (data["ipv4-pod-cidr"], data["ipv4-pod-gateway"]) == ("10.32.0.0/16", "10.32.0.1")


def test_root_host_defaults_to_nip_io_on_the_service_address():
    metallb = make_config(loadbalancer={"mode": "metallb-l2", "addresses": ["10.10.0.200"]})
    assert root_host(metallb) == "10-10-0-200.nip.io"
    # MetalLB L2 cannot publish on a VPC: external IPs only where the VPC delivers them.
    assert "expose-external-ips" not in configmap(metallb)


def test_files_and_installer():
    assert set(install_files(default_config())) == {CONFIGMAP_FILE}
    assert install_files(make_config(cozystack={"enabled": False})) == {}
    assert installer_url("v0.41.11") == (
        "https://github.com/cozystack/cozystack/releases/download/v0.41.11/cozystack-installer.yaml"
    )
