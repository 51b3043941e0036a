"""Every CDKTF and AWS-provider name the project uses, imported in this one module.

Why the odd import: `cdktf_cdktf_provider_aws/__init__.py` imports all ~2,100 resource
modules (6-10 s and ~600 MB) before any of them can be used. We register the package as
a bare module (its `__path__` set, its `__init__` not run) and import only the
submodules listed below, which load the same jsii assembly and give identical output.
If the real package was already imported (say by a test comparing both ways), it is
used as it is. TALOS_SANDBOX_EAGER_BINDINGS=1 turns both tricks off (the plain, slow
load), for comparison and debugging; the output is the same either way (a test checks).

Keeping cdktf imports here also keeps a later move to the CDK Terrain fork small.
"""

import importlib.util
import os
import sys
import types

# jsii prints a large end-of-life banner for Node 20 on every run otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The same trick on the JavaScript side: the jsii kernel (a node process started on the
# first cdktf import below) otherwise loads every resource module of the provider.
_LAZY_INDEX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lazy_provider_index.cjs")
_EAGER = os.environ.get("TALOS_SANDBOX_EAGER_BINDINGS") == "1"
if not _EAGER and _LAZY_INDEX not in os.environ.get("NODE_OPTIONS", ""):
    os.environ["NODE_OPTIONS"] = f'{os.environ.get("NODE_OPTIONS", "")} --require "{_LAZY_INDEX}"'.strip()

_PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"


def _register_bare_provider_package() -> None:
    if _PROVIDER_PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(_PROVIDER_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{_PROVIDER_PACKAGE} is not installed; run `make synth` to set up .venv")
    package = types.ModuleType(_PROVIDER_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__spec__ = spec
    package.__package__ = _PROVIDER_PACKAGE
    sys.modules[_PROVIDER_PACKAGE] = package


if _EAGER:
    importlib.import_module(_PROVIDER_PACKAGE)
else:
    _register_bare_provider_package()

# ruff: noqa: E402  (the imports below must follow the registration above)
from cdktf import (  # noqa: F401
    App,
    Fn,
    ITerraformDependable,
    LocalBackend,
    S3Backend,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Token,
)
from cdktf_cdktf_provider_aws.autoscaling_group import (  # noqa: F401
    AutoscalingGroup,
    AutoscalingGroupInstanceRefresh,
    AutoscalingGroupInstanceRefreshPreferences,
    AutoscalingGroupLaunchTemplate,
    AutoscalingGroupTag,
)
from cdktf_cdktf_provider_aws.autoscaling_schedule import AutoscalingSchedule  # noqa: F401
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_ami import DataAwsAmi, DataAwsAmiFilter  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_internet_gateway import (  # noqa: F401
    DataAwsInternetGateway,
    DataAwsInternetGatewayFilter,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_ssm_parameter import DataAwsSsmParameter  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_subnet import DataAwsSubnet  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc  # noqa: F401
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup  # noqa: F401
from cdktf_cdktf_provider_aws.ebs_volume import EbsVolume  # noqa: F401
from cdktf_cdktf_provider_aws.eip import Eip  # noqa: F401
from cdktf_cdktf_provider_aws.flow_log import FlowLog  # noqa: F401
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile  # noqa: F401
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy  # noqa: F401
from cdktf_cdktf_provider_aws.iam_role import IamRole  # noqa: F401
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy  # noqa: F401
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment  # noqa: F401
from cdktf_cdktf_provider_aws.instance import (  # noqa: F401
    Instance,
    InstanceMetadataOptions,
    InstanceRootBlockDevice,
)
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway  # noqa: F401
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias  # noqa: F401
from cdktf_cdktf_provider_aws.kms_key import KmsKey  # noqa: F401
from cdktf_cdktf_provider_aws.launch_template import (  # noqa: F401
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateIamInstanceProfile,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplateNetworkInterfaces,
    LaunchTemplateTagSpecifications,
)
from cdktf_cdktf_provider_aws.network_interface import NetworkInterface  # noqa: F401
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags  # noqa: F401
from cdktf_cdktf_provider_aws.route import Route  # noqa: F401
from cdktf_cdktf_provider_aws.route_table import RouteTable  # noqa: F401
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation  # noqa: F401
from cdktf_cdktf_provider_aws.scheduler_schedule import (  # noqa: F401
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup  # noqa: F401
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter  # noqa: F401
from cdktf_cdktf_provider_aws.subnet import Subnet  # noqa: F401
from cdktf_cdktf_provider_aws.vpc import Vpc  # noqa: F401
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint  # noqa: F401
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule  # noqa: F401
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule  # noqa: F401
