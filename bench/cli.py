"""How long the admin CLI takes to answer before it does any work: ``esimhub --help`` and a
subcommand's help, each as a fresh process, against the interpreter starting and importing
Typer in the same run (the floor any Typer command pays).

    python -m bench.cli [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ESIMHUB = str(Path(sys.executable).with_name("esimhub"))
CASES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import typer'  (floor)": [sys.executable, "-c", "import typer"],
    "esimhub --help": [ESIMHUB, "--help"],
    "esimhub balance --help": [ESIMHUB, "balance", "--help"],
    "esimhub serve --help": [ESIMHUB, "serve", "--help"],
}


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and commands
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    timings: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):  # cases alternate, so a noisy moment hits them all alike
        for name, command in CASES.items():
            timings[name].append(_seconds(command))
    floor = statistics.median(timings["python -c 'import typer'  (floor)"])
    print(f"{'case':<36} {'median':>9} {'p90':>9} {'× floor':>8}")
    for name, values in timings.items():
        values.sort()
        median = statistics.median(values)
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        print(f"{name:<36} {median * 1000:>7.0f} ms {p90 * 1000:>6.0f} ms {median / floor:>7.2f}×")


if __name__ == "__main__":
    main()
