"""Every design-lint rule, one per module, in id order."""

from . import (
    ami_version_differs_from_images,
    bastion_stops_while_nodes_run,
    boot_to_talos_unpinned,
    cozystack_build_unproven,
    cozystack_chart_unpinned,
    cozystack_without_build,
    explicit_ami_unchecked,
    image_amd64_only,
    image_not_pinned_by_digest,
    linstor_storage_below_minimum,
    metallb_l2_on_aws,
    no_ipv4_egress,
    no_nested_virtualization,
    node_below_cozystack_minimum,
    registry_caches_without_egress,
    release_not_in_matrix,
    ssh_wider_than_64,
)

RULES = sorted(
    (
        module.RULE
        for module in (
            metallb_l2_on_aws,
            node_below_cozystack_minimum,
            image_not_pinned_by_digest,
            image_amd64_only,
            no_ipv4_egress,
            bastion_stops_while_nodes_run,
            ssh_wider_than_64,
            boot_to_talos_unpinned,
            no_nested_virtualization,
            explicit_ami_unchecked,
            ami_version_differs_from_images,
            registry_caches_without_egress,
            release_not_in_matrix,
            cozystack_without_build,
            cozystack_build_unproven,
            linstor_storage_below_minimum,
            cozystack_chart_unpinned,
        )
    ),
    key=lambda rule: rule.rule_id,
)
