"""benchmarks/RESULTS.md: one section per benchmark, replaced when the benchmark runs again."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    import torch
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")),
               platform.processor())
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def record(heading: str, command: str, body: str) -> None:
    """Write `## heading`, the machine and the command, then body into RESULTS.md, replacing an
    earlier section of that heading."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"## {heading}\n\nMachine: {machine()}. Command: `{command}`.\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
    print(f"recorded in {RESULTS}")


def record_lines(heading: str, command: str, lines: list[str]) -> None:
    """Print the figures and record them as a bullet list."""
    print("\n".join(lines))
    record(heading, command, "\n".join(f"- {line}" for line in lines))
