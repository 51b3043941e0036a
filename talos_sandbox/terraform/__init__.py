"""Layer 4: what builds the Terraform JSON: `bindings` (the only cdktf import), IAM
policy documents, one construct per file under `constructs/`, and `stack` that wires
them from config. Imports config, facts and documents; never outputs.
"""
