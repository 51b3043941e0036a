"""RegistryCacheStorage: one persistent encrypted gp3 volume in the ENI's AZ, only with caches."""

from __future__ import annotations

from ...conftest import make_config, only, registry_cache_volumes


def test_volume_is_encrypted_gp3_in_the_enis_az(default_stack):
    [volume] = registry_cache_volumes(default_stack).values()
    assert (volume["type"], volume["encrypted"], volume["size"]) == ("gp3", True, 20)
    assert volume["availability_zone"] == only(default_stack, "aws_autoscaling_group")["availability_zones"][0]
    assert volume["tags"] == {"Name": "cozy-demo-registry-cache"}
    assert "lifecycle" not in volume, "terraform destroy removes it with the sandbox"


def test_size_and_az_follow_config(synth):
    _, stack = synth(
        make_config(network={"availability_zone": "eu-west-1b"}, bastion={"registry_caches": {"volume_gb": 64}})
    )
    [volume] = registry_cache_volumes(stack).values()
    assert (volume["size"], volume["availability_zone"]) == (64, "eu-west-1b")


def test_no_volume_without_caches(synth):
    _, stack = synth(make_config(bastion={"registry_caches": {"enabled": False}}))
    assert registry_cache_volumes(stack) == {}
