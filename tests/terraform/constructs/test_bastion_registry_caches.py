"""The bastion's registry caches, run for real: each cache's config (rendered by the same
function the boot script uses) is served by the CNCF distribution registry binary
(Debian's docker-registry) on loopback, in front of an upstream registry we start and
fill ourselves; a pull through the cache returns the image, and the cache keeps it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.offline import _free_port, stop
from harness.wait import wait_for
from talos_sandbox.config import default_config
from talos_sandbox.terraform.constructs.bastion_eni import REGISTRY_CACHE_DIR, registry_cache_config

from ...conftest import make_config, only, require_tool
from ...documents.test_render import heredoc
from talos_sandbox.terraform.user_data import user_data_text

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
STARTUP_SECONDS = 20


def registry_binary() -> str:
    return require_tool("docker-registry", "docker-registry")


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def answers(url: str) -> bool:
    try:
        call("GET", f"{url}/v2/")
        return True
    except OSError:  # refused, or an HTTP error while starting
        return False


@contextlib.contextmanager
def registry(config_text: str, port: int, workdir: Path) -> Iterator[str]:
    """A registry serving `config_text` on 127.0.0.1:port until the block ends."""
    config = workdir / "config.yml"
    config.write_text(config_text)
    log = workdir / "registry.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([registry_binary(), "serve", str(config)], stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    def started() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"registry exited at start:\n{log.read_text()[-3000:]}")
        return answers(url)

    try:
        wait_for(started, STARTUP_SECONDS, what=f"the registry on {url}")
        yield url
    finally:
        stop(process)


def upstream_config(port: int, storage: Path) -> str:
    """A plain (not proxying) registry that plays the upstream, e.g. Docker Hub."""
    return (
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


def push_blob(url: str, repository: str, content: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    status, headers, _ = call("POST", f"{url}/v2/{repository}/blobs/uploads/")
    assert status == 202
    location = headers["Location"]
    location = location if location.startswith("http") else url + location
    separator = "&" if "?" in location else "?"
    status, _, _ = call(
        "PUT", f"{location}{separator}digest={digest}", content, {"Content-Type": "application/octet-stream"}
    )
    assert status == 201
    return digest


def push_image(url: str, repository: str, tag: str) -> tuple[bytes, str]:
    """A one-layer image pushed with plain HTTP calls; returns (layer, manifest digest)."""
    layer = os.urandom(4096)
    config = json.dumps({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer_digest = push_blob(url, repository, layer)
    config_digest = push_blob(url, repository, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": config_digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": layer_digest}],
        }
    ).encode()
    status, headers, _ = call("PUT", f"{url}/v2/{repository}/manifests/{tag}", manifest, {"Content-Type": MANIFEST_TYPE})
    assert status == 201
    return layer, headers["Docker-Content-Digest"]


def pull(url: str, repository: str, tag: str) -> tuple[str, bytes]:
    """What a container runtime does: the manifest by tag, then its layer by digest."""
    _, headers, body = call("GET", f"{url}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPE})
    [layer] = json.loads(body)["layers"]
    _, _, blob = call("GET", f"{url}/v2/{repository}/blobs/{layer['digest']}")
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
    return headers["Docker-Content-Digest"], blob


def test_boot_script_writes_the_configs_this_function_renders(default_stack):
    """The heredocs in the bastion's user-data are exactly registry_cache_config's output."""
    script = user_data_text(only(default_stack, "aws_launch_template")["user_data"])
    caches = default_config().bastion.registry_caches
    for registry, upstream in caches.active.items():
        expected = registry_cache_config(registry, upstream, caches.ttl_hours, "10.10.0.100", f"{REGISTRY_CACHE_DIR}/{registry}")
        assert f'cat > "$config_dir/{registry}.yml" <<\'REGISTRY\'\n{expected}REGISTRY\n' in script


def docker_io_cache(upstream_port: int, cache_port: int, storage: Path) -> str:
    """The docker.io cache exactly as the bastion writes it, but for its upstream, address and folder."""
    caches = default_config().bastion.registry_caches
    upstream = caches.upstreams["docker.io"].model_copy(
        update={"remote_url": f"http://127.0.0.1:{upstream_port}", "port": cache_port}
    )
    return registry_cache_config("docker.io", upstream, caches.ttl_hours, "127.0.0.1", str(storage))


def test_a_pull_through_the_cache_returns_the_upstream_image_and_keeps_it(tmp_path):
    upstream_port, cache_port = _free_port(), _free_port()
    (tmp_path / "upstream").mkdir()
    (tmp_path / "cache").mkdir()
    cache_storage = tmp_path / "cache" / "storage"

    with contextlib.ExitStack() as cache_running, contextlib.ExitStack() as upstream_running:
        origin = upstream_running.enter_context(
            registry(upstream_config(upstream_port, tmp_path / "upstream" / "storage"), upstream_port, tmp_path / "upstream")
        )
        layer, manifest_digest = push_image(origin, "library/busybox", "1.36")
        cache = cache_running.enter_context(
            registry(docker_io_cache(upstream_port, cache_port, cache_storage), cache_port, tmp_path / "cache")
        )
        assert pull(cache, "library/busybox", "1.36") == (manifest_digest, layer)

        # The cache streams to the client first and commits the blob to its storage after.
        layer_digest = hashlib.sha256(layer).hexdigest()
        stored = cache_storage / "docker/registry/v2/blobs/sha256" / layer_digest[:2] / layer_digest / "data"
        wait_for(stored.exists, 10, interval=0.1, what="the cache to store the layer")
        assert stored.read_bytes() == layer, "the cache wrote the layer to its own storage"

        # With the upstream gone, the running cache still serves what it pulled.
        upstream_running.close()
        with pytest.raises(OSError):
            call("GET", f"{origin}/v2/")
        _, _, blob = call("GET", f"{cache}/v2/library/busybox/blobs/sha256:{layer_digest}")
        assert blob == layer


def test_a_cache_exits_while_its_upstream_is_unreachable(tmp_path):
    """The registry asks its upstream for auth challenges at start and exits when it cannot
    reach it; the unit's Restart=on-failure retries until the bastion's egress exists."""
    config = tmp_path / "config.yml"
    config.write_text(docker_io_cache(_free_port(), _free_port(), tmp_path / "storage"))
    result = subprocess.run([registry_binary(), "serve", str(config)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "connection refused" in result.stdout + result.stderr


def credentials_env(script: str, registry: str, credentials: str, workdir: Path) -> dict[str, str]:
    """Run the boot script's own lines that turn an SSM value into the unit's environment file,
    then read that file as systemd's EnvironmentFile= does (KEY='value')."""
    start = script.index(f'  install -m 600 /dev/null "$config_dir/{registry}.env"')
    end = script.index(f'> "$config_dir/{registry}.env"', start) + len(f'> "$config_dir/{registry}.env"')
    subprocess.run(
        ["bash", "-euc", script[start:end]], check=True, env={**os.environ, "config_dir": str(workdir), "credentials": credentials}
    )
    env_file = workdir / f"{registry}.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    return {key: value.strip("'") for key, value in (line.split("=", 1) for line in env_file.read_text().splitlines())}


def test_upstream_credentials_become_the_units_environment(synth, tmp_path):
    """user:token from SSM splits at its first colon into the variables the registry reads
    over its config (REGISTRY_PROXY_USERNAME/PASSWORD), in a root-only file. (A pull with
    them needs a token-auth upstream: Debian's 2.8 sends upstream credentials only to
    bearer-token registries, as GHCR and Docker Hub are; v3 also does basic auth.)"""
    parameter = {"docker.io": {"port": 5050, "credentials_parameter": "/cozy-demo/docker-hub"}}
    _, stack = synth(make_config(bastion={"registry_caches": {"upstreams": parameter}}))
    script = user_data_text(only(stack, "aws_launch_template")["user_data"])
    env = credentials_env(script, "docker.io", "robot:pa:ss", tmp_path)
    assert env == {"REGISTRY_PROXY_USERNAME": "robot", "REGISTRY_PROXY_PASSWORD": "pa:ss"}
    assert "EnvironmentFile=-/etc/talos-sandbox/registry-caches/%i.env" in script


def test_cache_unit_passes_systemd_analyze_verify(default_stack, tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    script = user_data_text(only(default_stack, "aws_launch_template")["user_data"])
    # The release binary is not on this machine; verify checks that ExecStart exists.
    unit = heredoc(script, "UNIT").replace("ExecStart=/usr/local/bin/registry ", "ExecStart=/bin/true ")
    (tmp_path / "registry-cache@.service").write_text(unit)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "registry-cache@docker.io.service")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
