"""`make bench`: every benchmark, one table each, figures beside baselines measured in the same run."""

from __future__ import annotations

import platform
import subprocess
import sys
import time

from bench import bundles, dispatch, export, forms, memory, web


def machine() -> str:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {cpu} cores, Python {platform.python_version()}, {platform.platform()}"


def main() -> None:
    start = time.monotonic()
    print(f"Machine: {machine()}\n", flush=True)
    print(dispatch.run().render(), end="\n\n", flush=True)
    for table in web.run():
        print(table.render(), end="\n\n", flush=True)
    print(memory.run().render(), end="\n\n", flush=True)
    print(export.run().render(), end="\n\n", flush=True)
    print(forms.run().render(), end="\n\n", flush=True)
    print(bundles.run().render(), flush=True)
    print(f"\n[bench] {time.monotonic() - start:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
