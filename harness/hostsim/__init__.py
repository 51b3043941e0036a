"""Host-level simulation: the synthesized boot scripts run on simulated instances.

See `world.py` for what is real and what is simulated, `hosts.py` for how an instance
keeps its writes to itself, and `shims/` for the three commands that stand in for AWS
and Amazon Linux (systemctl, dnf, aws). Tests: tests/hostsim/.
"""
