"""Layer 5: what the operator reads after synth: the runbook (`next-steps`), the stack
README, the network diagram, the cost estimate, design lint and the checkov policy
gate. May import every layer before it; nothing before imports this.
"""
