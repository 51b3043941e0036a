"""Layer 1: embedded facts that change with releases and prices, each with its source.

The lowest layer: imports nothing else of talos_sandbox. Config validation, the stack
and the operator outputs read these; nothing here reads config.
"""
