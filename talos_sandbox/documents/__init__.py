"""Layer 3: the text the stack carries or writes beside itself: Talos machine-config
patches, CozyStack's install files, talosctl commands, and the one Jinja environment
that renders `templates/` (boot scripts included). Imports config and facts only.
"""
