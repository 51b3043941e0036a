"""Limits of AWS, Talos and Kubernetes that the config is checked against at synth."""

# Talos needs room for its EPHEMERAL partition and image layers; below this it fails
# to install (Talos' system requirements name 10 GiB as the minimum).
MIN_ROOT_VOLUME_GB = 10
# The largest gp3 volume (AWS EBS volume types).
MAX_VOLUME_GB = 16384
# kube-apiserver refuses an IPv4 service range wider than /12 (20 bits of host).
MAX_SERVICE_CIDR_PREFIX = 12
