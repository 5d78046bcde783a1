"""Data usage: the package lifecycle, the usage feed and network simulator, polling limits."""
