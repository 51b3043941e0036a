"""Layer 2, the input: the sandbox config file, one module per area (network, bastion,
nodes, talos, ...), each with its models, defaults and validators; `loader` reads a file.

Imports only `facts` and `errors`. `from talos_sandbox.config import SandboxConfig,
load_config, parse_config` is the public path and keeps working.
"""

from .backend import BackendConfig
from .bastion import BastionConfig
from .bring_up import BringUpConfig
from .cozystack import CozystackConfig
from .loadbalancer import LoadBalancerConfig
from .loader import field_line, load_config, parse_config
from .network import FlowLogsConfig, NetworkConfig
from .nodes import NodeConfig, NodeDefaults
from .registry_caches import RegistryCachesConfig, RegistryUpstream
from .sandbox import DEFAULT_NODES, SandboxConfig, default_config
from .schedule import ScheduleConfig
from .talos import TalosConfig, TalosImages, image_tag
from .wireguard import WireguardConfig

__all__ = [
    "DEFAULT_NODES", "BackendConfig", "BastionConfig", "BringUpConfig", "CozystackConfig", "FlowLogsConfig", "LoadBalancerConfig",
    "NetworkConfig", "NodeConfig", "NodeDefaults", "RegistryCachesConfig", "RegistryUpstream", "SandboxConfig",
    "ScheduleConfig", "TalosConfig", "TalosImages", "WireguardConfig",
    "default_config", "field_line", "image_tag", "load_config", "parse_config",
]  # fmt: skip
