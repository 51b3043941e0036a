"""The nodes' volume documents (documents/talos_storage.py): with a data volume, one raw
volume on the EBS disk that is not the system disk; without one, CozyStack's single-disk
layout scaled to the root; both valid for every Talos minor's schema and in every node's
patch, and none without a volume to lay out."""

from __future__ import annotations

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.documents.talos_minors import TALOS_MINORS
from talos_sandbox.documents.talos_node_patch import node_patch
from talos_sandbox.documents.talos_storage import (
    DATA_DISK_SELECTOR,
    PARTITION_DEVICE,
    PARTITION_LABEL,
    storage_documents,
)

from ..conftest import make_config
from .talos_schema import file_errors, load_documents


def single_disk(root_gb: int, **node_overrides):
    nodes = [{"name": "n1", "private_ip": "10.10.0.101", "role": "gateway", **node_overrides}]
    return make_config(node_defaults={"instance_type": "t4g.medium", "root_volume_gb": root_gb, "data_volume_gb": None},
                       nodes=nodes)  # fmt: skip


def documents(config, node=None):
    return load_documents(storage_documents(config, node or config.nodes[0]))


def test_a_data_volume_is_one_raw_volume_on_the_ebs_disk_that_is_not_the_system_disk():
    [raw] = documents(default_config())
    assert raw == {
        "apiVersion": "v1alpha1",
        "kind": "RawVolumeConfig",
        "name": "linstor",
        "provisioning": {"diskSelector": {"match": DATA_DISK_SELECTOR}, "minSize": "1GiB"},
    }
    assert DATA_DISK_SELECTOR == '!system_disk && disk.model.startsWith("Amazon Elastic Block Store")'
    assert (PARTITION_LABEL, PARTITION_DEVICE) == ("r-linstor", "/dev/disk/by-partlabel/r-linstor")


@pytest.mark.parametrize(
    "root_gb, ephemeral, linstor",
    [(470, 70, 397), (50, 20, 27), (300, 45, 252), (33, 20, 10)],  # 470: the how-to's own 70 GiB
)
def test_without_a_data_volume_the_root_is_split_in_the_how_tos_share(root_gb, ephemeral, linstor):
    volume, raw = documents(single_disk(root_gb))
    assert volume == {
        "apiVersion": "v1alpha1",
        "kind": "VolumeConfig",
        "name": "EPHEMERAL",
        "provisioning": {"minSize": f"{ephemeral}GiB", "maxSize": f"{ephemeral}GiB", "grow": False},
    }
    assert raw["kind"] == "RawVolumeConfig" and raw["name"] == "linstor"
    assert raw["provisioning"] == {"diskSelector": {"match": "system_disk"}, "minSize": f"{linstor}GiB"}


def test_each_node_is_split_by_its_own_root():
    config = make_config(
        node_defaults={"instance_type": "t4g.medium", "data_volume_gb": None},
        nodes=[{"name": "n1", "private_ip": "10.10.0.101", "role": "gateway"},
               {"name": "n2", "private_ip": "10.10.0.102", "root_volume_gb": 470}],
    )  # fmt: skip
    assert [documents(config, node)[0]["provisioning"]["maxSize"] for node in config.nodes] == ["20GiB", "70GiB"]


def test_no_volume_documents_without_a_data_volume_or_cozystack():
    config = make_config(node_defaults={"instance_type": "t4g.medium", "data_volume_gb": None}, cozystack={"enabled": False})
    assert storage_documents(config, config.nodes[0]) == ""
    assert "kind: RawVolumeConfig" not in node_patch(config, config.nodes[0], "v1.13")


@pytest.mark.parametrize("minor", TALOS_MINORS)
@pytest.mark.parametrize("layout", ["data-volume", "single-disk"])
def test_every_node_patch_carries_its_volumes_valid_for_the_minor(layout, minor):
    config = default_config() if layout == "data-volume" else single_disk(100)
    for node in config.nodes:
        text = node_patch(config, node, minor)
        assert file_errors(text, minor) == []
        kinds = [document.get("kind") for document in load_documents(text)]
        assert kinds[-1] == "RawVolumeConfig" and kinds.count("RawVolumeConfig") == 1
        assert ("VolumeConfig" in kinds) is (layout == "single-disk")


def test_the_schema_check_catches_a_broken_volume_document():
    for minor in TALOS_MINORS:
        assert file_errors("apiVersion: v1alpha1\nkind: RawVolumeConfig\nname: linstor\nprovisioning:\n"
                           "  diskSelecter: {match: system_disk}\n", minor) != []  # misspelt; fmt: skip
        assert file_errors("apiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\nprovisioning:\n"
                           "  grow: 'no'\n", minor) != []  # fmt: skip
