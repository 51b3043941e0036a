"""The registry caches for real: a blank volume formatted and mounted, the downloaded registry
serving a node's pull, surviving a reboot and a replacement; a tampered release refused."""

from __future__ import annotations

import json
import os
import sys

from harness.hostsim.internet import UPSTREAM_REGISTRY, registry_asset
from harness.hostsim.internet import single_file_tarball
from harness.wait import wait_for

from harness.hostsim.world import REPO_ROOT

CACHE = "/var/lib/registry-cache"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PUSH = """
from tests.terraform.constructs.test_bastion_registry_caches import push_image
push_image("https://%s", "library/demo", "v1")
"""


def push_upstream(world) -> None:
    """An image on the upstream (Docker Hub's stand-in), pushed from inside the simulated internet."""
    env = {**os.environ, "SSL_CERT_FILE": str(world.internet.ca_cert), "PYTHONPATH": str(REPO_ROOT)}
    world.inet.execute(sys.executable, "-c", PUSH % UPSTREAM_REGISTRY, env=env, cwd=REPO_ROOT)


def pull(node, bastion_ip) -> str:
    """What a container runtime does through the cache: the manifest by tag, then its layer."""
    base = f"http://{bastion_ip}:5050/v2/library/demo"
    manifest = node.machine.run("curl", "-fsS", "--max-time", "20", "-H", f"Accept: {MANIFEST}", f"{base}/manifests/v1").stdout
    [layer] = json.loads(manifest)["layers"]
    blob = node.machine.run("bash", "-c", f"curl -fsS --max-time 20 {base}/blobs/{layer['digest']} | sha256sum").stdout
    assert "sha256:" + blob.split()[0] == layer["digest"]
    return layer["digest"]


def cached(bastion, digest: str) -> bool:
    hexdigest = digest.removeprefix("sha256:")
    path = f"{CACHE}/docker.io/docker/registry/v2/blobs/sha256/{hexdigest[:2]}/{hexdigest}/data"
    return bastion.machine.run("test", "-s", path, check=False).returncode == 0


def test_caches_format_mount_serve_and_survive_reboot_and_replacement(new_sandbox):
    sandbox = new_sandbox("default-wireguard")
    world = sandbox.world
    bastion = sandbox.boot_bastion()
    assert "registry caches: running (docker.io :5050, registry.k8s.io :5051)" in bastion.machine.console()
    mount = bastion.machine.run("findmnt", "-n", "-o", "SOURCE,FSTYPE,LABEL", CACHE).stdout.split()
    assert mount[1:] == ["xfs", "regcache"] or mount[1] == "xfs", mount
    wait_for(lambda: bastion.machine.unit("registry-cache@docker.io.service")["ActiveState"] == "active", 30,
             what="the docker.io cache")  # fmt: skip
    push_upstream(world)
    node = sandbox.start_node()
    digest = pull(node, sandbox.stack.bastion_ip)
    # The proxy stores a blob while it streams it on; under load the file lands just after the pull ends.
    wait_for(lambda: cached(bastion, digest), 30, what="the pull to go through the cache onto the volume")

    world.reboot(bastion)
    bastion.machine.wait_booted()
    assert bastion.machine.run("findmnt", "-n", CACHE, check=False).returncode == 0, "mounted again after reboot"
    wait_for(lambda: bastion.machine.unit("registry-cache@docker.io.service")["ActiveState"] == "active", 60,
             what="the cache after reboot")  # fmt: skip
    assert cached(bastion, digest)

    world.terminate_bastion()
    downloads = world.internet.access_log.read_text().count(registry_asset("v3.1.1"))
    bastion = sandbox.boot_bastion()
    assert cached(bastion, digest), "the replacement found the cached content on the volume"
    assert "registry caches: running" in bastion.machine.console()
    assert world.internet.access_log.read_text().count(registry_asset("v3.1.1")) == downloads, "kept on the volume"
    assert pull(node, sandbox.stack.bastion_ip) == digest


def test_a_tampered_registry_release_is_refused(new_sandbox):
    sandbox = new_sandbox("default-wireguard")
    version = sandbox.config.bastion.registry_caches.registry_version
    # A well-formed release with another program in it; its .sha256 stays the genuine one's.
    evil = single_file_tarball("registry", b"#!/bin/sh\necho evil > /tmp/evil\nexec sleep 3600\n")
    sandbox.world.internet.publish_registry_release(version, tarball=evil)
    bastion = sandbox.boot_bastion()
    assert "WARNING: the registry caches did not start" in bastion.machine.console()
    assert bastion.machine.run("test", "-e", "/usr/local/bin/registry", check=False).returncode != 0
