"""Times each pipeline stage on the default data (100,000 rows), CPU only, on throwaway ports and folders.

    python bench/pipeline.py [--rows 100000]

Target (docs/architecture.md, targets): the whole run under 5 minutes on this 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common.processes import free_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    from ci.config import PipelineConfig
    from ci.processes import stop_pid_file
    from ci.runner import run_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        config = PipelineConfig(
            var=Path(tmp),
            rows=args.rows,
            mlflow_port=free_port(),
            staging_port=free_port(),
            production_port=free_port(),
            demo_password="bench",
        )
        try:
            result = run_pipeline(config, log=lambda line: None)
        finally:
            for env in config.environments():
                stop_pid_file(env.pid_file)
            stop_pid_file(config.var / "mlflow" / "server.pid")
    total = sum(result.timings.values())
    print("| stage | seconds | share |\n|---|---|---|")
    for name, seconds in result.timings.items():
        print(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    print(f"| **total** | **{total:.1f}** | target < 300 s: {'met' if total < 300 else 'missed'} |")
    print(f"status: {result.status}; {result.error}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
