"""Sandbox tooling: the movable clock."""
