"""The ``esimhub`` command. A client-only install (``esimhub[client]``) has no server to run:
say so in one line instead of a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from esimhub.cli.main import main as run  # noqa: PLC0415 - the server is optional
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.startswith("esimhub"):
            raise
        sys.exit(
            f"esimhub: the server is not installed ({exc.name} is missing); "
            "install it with: pip install 'esimhub[server]'"
        )
    run()
