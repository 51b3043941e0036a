"""talos-sandbox: a CDKTF generator for a Talos Linux sandbox on EC2 (arm64 or amd64).

The layers, in the order data flows (each imports only those before it):
  facts/      embedded facts: limits, prices, instance types, releases, AMIs
  config/     the config file: one model module per area, `loader` reads a file
  documents/  Talos and CozyStack documents, boot scripts (templates/) and talosctl commands
  terraform/  the provider bindings, one construct per file, the stack
  outputs/    what the operator reads: runbook, stack README, diagram, cost, lint, policy gate
  synth.py    writes every stack's folder, all or nothing; cli.py, the thin command line
"""
