"""The simulated VPC and internet, built from network namespaces around a synthesized stack.

    nodes ──┐                                   ┌── wg-peer (WireGuard, NAT to its IPv4)
            ├─ vpc (router, IMDS, resolver) ─ igw ─ internet (github.com, ghcr.io, AWS APIs)
  bastion ──┘   9001-byte links             1500-byte links

Real: the kernel's routing, forwarding and MTU handling, nftables, wg/wg-quick with
wireguard-go, curl, sha256sum, tar, bash and the scripts themselves, byte for byte.
Simulated, each in one place: the VPC router applies each subnet's route table as
synthesized (namespace `vpc`); the internet gateway carries at most 1500 bytes and maps
an Elastic IP 1:1 (`igw`); security groups are modelled only where they decide what this
simulation tests: the bastion's group admits ICMP errors from the internet only if a rule
says so, so Path MTU Discovery toward the bastion works only then; the internet loses
ICMP "fragmentation needed"/"packet too big" on the way to servers (the PMTUD black holes
that anycast CDNs are known for), so only MSS clamping keeps TCP working across a
narrower tunnel. Instance metadata, Amazon Time Sync, the VPC resolver and the S3 gateway
endpoint are addresses of the router (HTTP for metadata; the others answer ping).

Addresses outside the VPC are documentation ranges only: 192.0.2.0/24 for AWS's own
links and S3, 198.51.100.0/24 for internet links and public addresses, 203.0.113.0/24 for
servers, 2001:db8::/32 for all IPv6. No link reaches the root namespace.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..offline import stop
from . import aws_api
from .amazon_linux import build_layer
from .hosts import Host, Namespace, address, link, run, wait_for
from .internet import AWS_API_IPV4, AWS_API_IPV6, GITHUB, REGISTRY_PROGRAM, UPSTREAM_REGISTRY, Internet
from .machine import Machine
from .rootfs import rootfs
from .stack import REGISTRY_VOLUME_ID, SynthesizedStack
from .talos_nodes import NodeIdentity, TalosNodes

REPO_ROOT = Path(__file__).resolve().parents[2]
VPC_MTU = 9001
INTERNET_MTU = 1500
PEER_TUNNEL_MTU = 1420  # what wg-quick picks on the peer's 1500-byte link

VPC_IPV6 = ipaddress.IPv6Network("2001:db8:10::/56")
VPC_IGW = ("192.0.2.1/30", "192.0.2.2", "2001:db8:ffff:1::1/64", "2001:db8:ffff:1::2")
IGW_INTERNET = ("198.51.100.1/30", "198.51.100.2", "2001:db8:ffff:2::1/64", "2001:db8:ffff:2::2")
INTERNET_PEER = ("198.51.100.5/30", "198.51.100.6", "2001:db8:ffff:3::1/64", "2001:db8:ffff:3::2")
ELASTIC_IP = "198.51.100.10"
S3_PREFIX = "192.0.2.128/25"
S3_ENDPOINT_ADDRESS = "192.0.2.200"
METADATA = "169.254.169.254"
TIME_SYNC = "169.254.169.123"
BASTION_DEVICE = "eni-bastion"
VOLUME_BYTES = 1024 * 1024 * 1024  # sparse; XFS needs 300 MB at least
# A VPC address outside every subnet: a source the bastion must not masquerade.
STRANGER_OFFSET = 200 * 256 + 1
STRANGER_MSS = 1300


@dataclass
class Instance:
    machine: Machine
    ip: ipaddress.IPv4Address
    subnet: ipaddress.IPv4Network
    device: str
    """Its interface's name on the VPC router's side."""
    mac: str
    instance_id: str
    ipv6: str | None = None
    talos: subprocess.Popen | None = None
    """The Talos node stand-in, once the instance has become Talos (talos_nodes.py)."""

    @property
    def namespace(self) -> Namespace:
        return self.machine.namespace


@dataclass
class SimulatedVpc:
    stack: SynthesizedStack
    workdir: Path
    wireguard_endpoint: str | None = None
    """`[address]:port` of the peer, from the config; None without a tunnel."""
    wireguard_key_parameter: str | None = None
    wireguard_tunnel_address: str = ""
    """The bastion's tunnel address: the only source the peer accepts from it."""
    bastion_private_key: str = ""
    peer_private_key: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    """Other SSM SecureStrings (e.g. registry credentials): name -> value."""
    prefix: str = field(default_factory=lambda: f"tsb{secrets.token_hex(3)}-")
    bastion: Instance | None = None
    nodes: dict[str, Instance] = field(default_factory=dict)
    talos: TalosNodes | None = None
    """Set (with_talos) for nodes that become Talos once boot-to-talos has run."""

    def __post_init__(self) -> None:
        self._cleanup = ExitStack()
        self._namespaces: list[Namespace] = []
        self._subnet_bridges: dict[ipaddress.IPv4Network, str] = {}
        self._instances: list[Instance] = []
        self._launches = 0
        self._node_launches: dict[ipaddress.IPv4Address, int] = {}
        self.internet = Internet(self.workdir / "internet")

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> SimulatedVpc:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.talos is not None:
            self.talos.close()
        for instance in self._instances:
            instance.machine.halt()
            instance.machine.unmount()
        self._cleanup.close()
        for namespace in reversed(self._namespaces):
            namespace.destroy()
        self._namespaces.clear()

    def _namespace(self, role: str) -> Namespace:
        namespace = Namespace(self.prefix + role)
        self._namespaces.append(namespace)
        namespace.create()
        return namespace

    # --- the network -------------------------------------------------------------------

    def _build(self) -> None:
        stack = self.stack
        self.rootfs = rootfs()
        self.amazon_linux = build_layer(self.workdir / "amazon-linux-layer")
        self.internet.prepare(stack.region)
        self._write_account()
        self.vpc = self._namespace("vpc")
        self.igw = self._namespace("igw")
        self.inet = self._namespace("inet")
        for router in (self.vpc, self.igw, self.inet):
            router.sysctl(net__ipv4__ip_forward=1, net__ipv6__conf__all__forwarding=1,
                          net__ipv4__conf__all__send_redirects=0)  # fmt: skip

        subnets = sorted(stack.route_tables, key=lambda subnet: subnet != stack.node_subnet)
        for index, subnet in enumerate(subnets):
            bridge = f"br{index}"
            self._subnet_bridges[subnet] = bridge
            # A fixed MAC: a bridge otherwise takes its lowest port's, which changes when an
            # instance is replaced, and the VPC router's never does.
            router_mac = f"02:00:00:00:00:{index + 1:02x}"
            self.vpc.ip("link", "add", bridge, "address", router_mac, "mtu", str(VPC_MTU), "type", "bridge")
            self.vpc.ip("link", "set", bridge, "up")
            address(self.vpc, bridge, f"{subnet.network_address + 1}/{subnet.prefixlen}", self._subnet_ipv6(subnet, 1))
        self.vpc.sysctl(**{f"net__ipv4__conf__{b}__send_redirects": 0 for b in self._subnet_bridges.values()})
        # An address no instance holds (a node not launched yet) is unreachable after half a
        # second, not three: a real VPC drops such packets silently, so this only shortens waits.
        for bridge in self._subnet_bridges.values():
            self.vpc.sysctl(**{f"net__ipv4__neigh__{bridge}__retrans_time_ms": 250, f"net__ipv4__neigh__{bridge}__mcast_solicit": 2})
        resolver = stack.vpc_cidr.network_address + 2
        address(self.vpc, "lo", f"{METADATA}/32", f"{TIME_SYNC}/32", f"{resolver}/32")
        if any(r.target == "endpoint" for routes in stack.route_tables.values() for r in routes):
            address(self.vpc, "lo", f"{S3_ENDPOINT_ADDRESS}/32")
        self.stranger = str(stack.vpc_cidr.network_address + STRANGER_OFFSET)
        address(self.vpc, "lo", f"{self.stranger}/32")

        link(self.vpc, "igw", self.igw, "vpc", VPC_MTU)
        address(self.vpc, "igw", VPC_IGW[0], VPC_IGW[2])
        address(self.igw, "vpc", f"{VPC_IGW[1]}/30", f"{VPC_IGW[3]}/64")
        link(self.igw, "inet", self.inet, "igw", INTERNET_MTU)
        address(self.inet, "igw", IGW_INTERNET[0], IGW_INTERNET[2])
        address(self.igw, "inet", f"{IGW_INTERNET[1]}/30", f"{IGW_INTERNET[3]}/64")
        self._route_tables()
        self._internet_gateway()
        self._internet()
        if self.wireguard_endpoint:
            self._wireguard_peer()
        self._start(self.vpc, "imds", METADATA, str(self.account))
        self._start(self.inet, "https", str(self.internet.root), str(self.internet.cert), str(self.internet.key),
                    str(self.internet.access_log), str(self.account), GITHUB, AWS_API_IPV4, AWS_API_IPV6)  # fmt: skip
        self._start_upstream_registry()
        wait_for(lambda: self._listening(self.inet, f"{UPSTREAM_REGISTRY}:443") and self._listening(self.inet, f"{GITHUB}:443")
                 and self._listening(self.vpc, f"{METADATA}:80"), 20, what="servers")  # fmt: skip

    def _subnet_ipv6(self, subnet: ipaddress.IPv4Network, host: int) -> str:
        """The subnet's /64 of the VPC's IPv6 block (the nodes' first, others the 256th) and a host in it."""
        index = 0 if subnet == self.stack.node_subnet else 255
        network = ipaddress.IPv6Network((int(VPC_IPV6.network_address) + (index << 64), 64))
        return f"{network.network_address + host}/64"

    def _route_tables(self) -> None:
        """Each subnet's route table, applied to what arrives from that subnet."""
        for table, (subnet, routes) in enumerate(sorted(self.stack.route_tables.items()), start=100):
            bridge = self._subnet_bridges[subnet]
            for family in ("-4", "-6"):
                run(["ip", "-n", self.vpc.name, family, "rule", "add", "iif", bridge, "lookup", str(table)])
            for other, other_bridge in self._subnet_bridges.items():
                self.vpc.ip("route", "add", str(other), "dev", other_bridge, "table", str(table))
                run(["ip", "-n", self.vpc.name, "-6", "route", "add", self._subnet_ipv6(other, 0), "dev", other_bridge,
                     "table", str(table)])  # fmt: skip
            for route in routes:
                if route.target == "endpoint":
                    continue  # the endpoint's addresses are the router's own
                ipv6 = ":" in route.destination
                if route.target == "eni":
                    via = ["via", str(self.stack.bastion_ip), "dev", self._subnet_bridges[self.stack.bastion_subnet]]
                else:
                    via = ["via", VPC_IGW[3] if ipv6 else VPC_IGW[1], "dev", "igw"]
                destination = "default" if route.destination in ("0.0.0.0/0", "::/0") else route.destination
                run(["ip", "-n", self.vpc.name, "-6" if ipv6 else "-4", "route", "add", destination, *via,
                     "table", str(table)])  # fmt: skip
            if subnet == self.stack.node_subnet:
                # The stranger (another subnet's address) follows the nodes' routes. Its TCP
                # announces an MSS that fits the tunnel, as the nodes' clamped TCP does, so
                # only the bastion's NAT decides whether it gets through. (The router sends
                # no other TCP of its own along this table.)
                self.vpc.ip("rule", "add", "from", self.stranger, "lookup", str(table))
                default = run(["ip", "-n", self.vpc.name, "-4", "route", "show", "default", "table", str(table)]).stdout.split()[:5]
                if default[:2] == ["default", "via"]:
                    self.vpc.ip("route", "replace", *default, "advmss", str(STRANGER_MSS), "table", str(table))
        self.vpc.ip("-6", "route", "add", "default", "via", VPC_IGW[3], "dev", "igw")
        if not self.stack.bastion_admits_icmp_from_internet:
            bastion_bridge = self._subnet_bridges[self.stack.bastion_subnet]
            self.vpc.nft(f"""
table inet security_groups {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
    iifname "igw" oifname "{bastion_bridge}" icmp type destination-unreachable drop
    iifname "igw" oifname "{bastion_bridge}" icmpv6 type packet-too-big drop
  }}
}}""")

    def _internet_gateway(self) -> None:
        self.igw.ip("-6", "route", "add", str(VPC_IPV6), "via", VPC_IGW[2].split("/")[0], "dev", "vpc")
        self.igw.ip("-6", "route", "add", "default", "via", IGW_INTERNET[2].split("/")[0], "dev", "inet")
        self.igw.ip("route", "add", "default", "via", IGW_INTERNET[0].split("/")[0], "dev", "inet")
        if self.stack.elastic_ip:
            private = str(self.stack.bastion_ip)
            self.igw.ip("route", "add", private, "via", VPC_IGW[0].split("/")[0], "dev", "vpc")
            mapping = f"""
    chain prerouting {{ type nat hook prerouting priority dstnat; ip daddr {ELASTIC_IP} dnat to {private}; }}
    chain postrouting {{ type nat hook postrouting priority srcnat; ip saddr {private} snat to {ELASTIC_IP}; }}"""
        else:
            private, mapping = None, ""
        allowed = f"ip saddr != {private} " if private else ""
        self.igw.nft(f"""
table ip internet_gateway {{{mapping}
    chain forward {{
      type filter hook forward priority filter; policy accept;
      iifname "vpc" {allowed}drop
    }}
}}""")

    def _internet(self) -> None:
        address(self.inet, "lo", *self.internet.addresses())
        self.inet.ip("route", "add", ELASTIC_IP, "via", IGW_INTERNET[1], "dev", "igw")
        self.inet.ip("-6", "route", "add", str(VPC_IPV6), "via", IGW_INTERNET[3], "dev", "igw")
        self.inet.nft("""
table inet pmtud_black_hole {
  chain input { type filter hook input priority filter; icmp type destination-unreachable icmp code frag-needed drop; }
  chain forward { type filter hook forward priority filter; icmp type destination-unreachable icmp code frag-needed drop; icmpv6 type packet-too-big drop; }
}""")

    def _wireguard_peer(self) -> None:
        endpoint_address, port = self.wireguard_endpoint.rsplit(":", 1)
        endpoint_address = endpoint_address.strip("[]")
        peer = self._namespace("peer")
        self.peer = Host(peer, self.workdir / "peer")
        self.peer.prepare_disk()
        link(self.inet, "peer", peer, "inet", INTERNET_MTU)
        address(self.inet, "peer", INTERNET_PEER[0], INTERNET_PEER[2])
        address(peer, "inet", f"{INTERNET_PEER[1]}/30", f"{INTERNET_PEER[3]}/64")
        address(peer, "lo", f"{endpoint_address}/128")
        self.inet.ip("-6", "route", "add", f"{endpoint_address}/128", "via", INTERNET_PEER[3], "dev", "peer")
        peer.ip("route", "add", "default", "via", INTERNET_PEER[0].split("/")[0])
        peer.ip("-6", "route", "add", "default", "via", INTERNET_PEER[2].split("/")[0])
        peer.sysctl(net__ipv4__ip_forward=1)
        key_file = self.workdir / "peer.key"
        key_file.write_text(self.peer_private_key + "\n")
        bastion_public = run(["wg", "pubkey"], input=self.bastion_private_key).stdout.strip()
        self.peer.run("wireguard-go", "wg0", timeout=20)
        self.peer.run("wg", "set", "wg0", "private-key", str(key_file), "listen-port", port,
                      "peer", bastion_public, "allowed-ips", self.wireguard_tunnel_address)  # fmt: skip
        peer.ip("address", "add", "10.200.0.1/24", "dev", "wg0")
        peer.ip("link", "set", "wg0", "mtu", str(PEER_TUNNEL_MTU), "up")
        peer.nft('table ip peer_nat {\n chain postrouting { type nat hook postrouting priority srcnat; oifname "inet" masquerade; }\n}')

    def _start(self, namespace: Namespace, *arguments: str) -> None:
        log = (self.workdir / f"{namespace.name}-{arguments[0]}.log").open("ab")
        self._cleanup.callback(log.close)
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace.name, sys.executable, "-m", "harness.hostsim.servers", *arguments],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._cleanup.callback(stop, process)

    def _start_upstream_registry(self) -> None:
        config = self.workdir / "upstream-registry.yml"
        config.write_text(self.internet.upstream_registry_config(self.workdir / "upstream-registry"))
        log = (self.workdir / "upstream-registry.log").open("ab")
        self._cleanup.callback(log.close)
        process = subprocess.Popen(["ip", "netns", "exec", self.inet.name, REGISTRY_PROGRAM, "serve", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        self._cleanup.callback(stop, process)

    @staticmethod
    def _listening(namespace: Namespace, address: str) -> bool:
        return f" {address} " in namespace.execute("ss", "-Hltn").stdout

    def _write_account(self) -> None:
        """What the simulated AWS API knows: parameters, prefix lists, the caches' volume."""
        self.account = self.workdir / "account.json"
        volumes = {}
        if self.stack.registry_volume:
            self.volume_loop = self._volume_device()
            volumes[REGISTRY_VOLUME_ID] = {"id": REGISTRY_VOLUME_ID, "name": self.stack.registry_volume,
                                           "az": self.stack.availability_zone, "loop": self.volume_loop,
                                           "attached_to": None}  # fmt: skip
        operator = dict(self.parameters)
        if self.wireguard_key_parameter:
            operator[self.wireguard_key_parameter] = self.bastion_private_key
        prefix_lists = {f"com.amazonaws.{self.stack.region}.s3": {"id": "pl-6da54004", "cidrs": [S3_PREFIX], "owner": "aws"}}
        state = aws_api.initial_state(self.stack, operator, volumes, prefix_lists)
        self.account.write_text(json.dumps(state, indent=1))

    def _volume_device(self) -> str:
        """A blank volume: a sparse file behind a loop device, detached when the world closes."""
        backing = self.workdir / "registry-cache-volume.img"
        with backing.open("wb") as image:
            image.truncate(VOLUME_BYTES)
        loop = run(["losetup", "--find", "--show", str(backing)]).stdout.strip()
        self._cleanup.callback(run, ["losetup", "--detach", loop], check=False)
        return loop

    # --- instances ---------------------------------------------------------------------

    def _attach(self, instance: Instance) -> None:
        namespace = instance.namespace
        link(namespace, "ens5", self.vpc, instance.device, VPC_MTU, a_mac=instance.mac)
        self.vpc.ip("link", "set", instance.device, "master", self._subnet_bridges[instance.subnet])
        subnet = instance.subnet
        address(namespace, "ens5", f"{instance.ip}/{subnet.prefixlen}")
        namespace.ip("route", "add", "default", "via", str(subnet.network_address + 1))
        if instance.ipv6:
            address(namespace, "ens5", instance.ipv6)
            namespace.ip("-6", "route", "add", "default", "via", self._subnet_ipv6(subnet, 1).split("/")[0])

    def _detach(self, instance: Instance) -> None:
        """Everything of the instance stops and its link goes (deleting one end of a veth
        deletes both at once; the kernel may free the old namespace much later)."""
        instance.machine.halt()
        run(["ip", "-n", self.vpc.name, "link", "del", instance.device], check=False)

    def _launch(self, name: str, ip, subnet, device: str, mac: str, user_data: str, ipv6: str | None = None) -> Instance:
        """A new instance (a new id, a fresh disk) that boots and runs its user-data through cloud-init."""
        self._launches += 1
        instance_id = f"i-{self._launches:017x}"
        machine = Machine(self.prefix + name, self._namespace(name), self.workdir / f"{name}-{instance_id}",
                          (self.amazon_linux, self.rootfs))  # fmt: skip
        machine.prepare(
            seed={"meta-data": f"instance-id: {instance_id}\nlocal-hostname: {name}\n", "user-data": user_data},
            files={"/etc/hosts": f"127.0.0.1 localhost\n::1 localhost\n{self.internet.hosts_file(self.stack.region)}",
                   "/etc/ssl/certs/ca-certificates.crt": self.internet.ca_cert.read_text()},
        )  # fmt: skip
        instance = Instance(machine, ip, subnet, device, mac, instance_id, ipv6=ipv6)
        self._instances.append(instance)
        self._attach(instance)
        self._power_on(instance)
        return instance

    def _power_on(self, instance: Instance) -> None:
        machine = instance.machine
        with aws_api.account(self.account) as state:
            attached = [v for v in state["volumes"].values() if v["attached_to"] == instance.instance_id]
        machine.binds = {v["loop"]: aws_api.NVME_DEVICE for v in attached}
        machine.start()
        with aws_api.account(self.account) as state:
            bastion = instance.device == BASTION_DEVICE
            state["instances"][instance.instance_id] = {
                "ip": str(instance.ip), "az": self.stack.availability_zone, "mac": instance.mac, "leader": machine.leader,
                "by_id": str(machine.by_id), "role": self.stack.bastion_role if bastion else self.stack.node_role,
                "tags": self.stack.bastion_tags if bastion else {},
            }  # fmt: skip

    def launch_bastion(self) -> Instance:
        """A new bastion instance on the static ENI (same address, MAC and IPv6), fresh disk."""
        stack = self.stack
        self.bastion = self._launch("bastion", stack.bastion_ip, stack.bastion_subnet, BASTION_DEVICE, "02:00:00:00:01:00",
                                    stack.bastion_user_data, ipv6=self._subnet_ipv6(stack.bastion_subnet, 0x100))  # fmt: skip
        return self.bastion

    def terminate_bastion(self) -> None:
        """The instance goes; EC2 detaches its volumes."""
        bastion = self.bastion
        self._detach(bastion)
        bastion.machine.unmount()
        with aws_api.account(self.account) as state:
            for volume in state["volumes"].values():
                if volume["attached_to"] == bastion.instance_id:
                    volume["attached_to"] = None
            state["instances"].pop(bastion.instance_id, None)
        self._namespaces.remove(bastion.namespace)
        self.bastion = None

    def launch_node(self, ip: ipaddress.IPv4Address, preinstalled: bool = False) -> Instance:
        """A new instance at the node's address (a replacement gets its own name, MAC and disk).

        preinstalled: the instance is Talos in maintenance mode from the start (talos_nodes.py)."""
        index = sorted(self.stack.node_user_data).index(ip)
        launches = self._node_launches.get(ip, 0)
        self._node_launches[ip] = launches + 1
        name = f"node{index}" + (f"-{launches}" if launches else "")
        mac = f"02:00:00:00:{2 + launches:02x}:{index:02x}"
        if preinstalled:
            node = self._talos_instance(name, ip, mac)
        else:
            node = self._launch(name, ip, self.stack.node_subnet, f"eni-{name}", mac, self.stack.node_user_data[ip])
        self.nodes[str(ip)] = node
        return node

    def _talos_instance(self, name: str, ip, mac: str) -> Instance:
        self._launches += 1
        instance_id = f"i-{self._launches:017x}"
        machine = Machine(self.prefix + name, self._namespace(name), self.workdir / f"{name}-{instance_id}",
                          (self.amazon_linux, self.rootfs))  # fmt: skip
        machine.disk.mkdir(parents=True)
        instance = Instance(machine, ip, self.stack.node_subnet, f"eni-{name}", mac, instance_id)
        self._instances.append(instance)
        self._attach(instance)
        self.talos._serve(instance)
        return instance

    def with_talos(self, cluster: str, talos: str, identities: dict[str, NodeIdentity]) -> TalosNodes:
        """From now on, nodes become Talos once boot-to-talos has run (talos_nodes.py)."""
        self.talos = TalosNodes(self, cluster, talos, identities)
        self.talos.start()
        return self.talos

    def power_off(self, instance: Instance) -> None:
        """The instance's container stops (every process of it); its link comes back up, empty."""
        self._detach(instance)
        instance.machine.unmount()
        instance.namespace.create()
        self._attach(instance)

    def terminate_node(self, ip: ipaddress.IPv4Address) -> None:
        """The node's instance goes, with its disk; launch_node(ip) brings a new one."""
        node = self.nodes.pop(str(ip))
        if self.talos is not None:
            self.talos.stop(node)
        self._detach(node)
        node.machine.unmount()
        with aws_api.account(self.account) as state:
            state["instances"].pop(node.instance_id, None)
        self._namespaces.remove(node.namespace)

    def reboot(self, instance: Instance) -> None:
        """systemctl reboot inside; the instance comes up again with its disk (and attached volumes).
        A node that is Talos reboots as Talos (its stand-in restarts on the same disk)."""
        if instance.talos is not None:
            self.talos.reboot(instance)
            return
        instance.machine.reboot()
        self._detach(instance)
        instance.namespace.create()
        self._attach(instance)
        self._power_on(instance)
        instance.machine.wait_booted()

    def egress_address(self, since: int = 0) -> list[str]:
        """The client addresses the internet's server saw, in order."""
        log = self.internet.access_log
        return [line.split()[0] for line in log.read_text().splitlines()[since:]] if log.exists() else []
