"""Regenerate ``messages_pb2.py`` and ``messages_pb2.pyi`` from ``messages.proto``.

One script, one pinned generator (grpcio-tools and mypy-protobuf from the ``dev`` extra), so the
committed modules are reproducible; ``tests/core/test_generated_proto.py`` fails when they drift.

Usage: ``python scripts/generate_proto.py [--out DIR]`` (default: next to the .proto file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "projectmanagement_core" / "proto"
PROTO_FILE = "messages.proto"


def generate(out_dir: Path) -> None:
    """Run protoc (bundled with grpcio-tools) with the mypy-protobuf plugin into ``out_dir``."""
    from grpc_tools import protoc  # imported late: a dev-only dependency

    out_dir.mkdir(parents=True, exist_ok=True)
    # The plugin is installed next to this interpreter; naming it makes the run independent of PATH.
    plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    args = [
        "protoc",
        *([f"--plugin=protoc-gen-mypy={plugin}"] if plugin.exists() else []),
        f"--proto_path={PROTO_DIR}",
        f"--python_out={out_dir}",
        f"--mypy_out={out_dir}",
        str(PROTO_DIR / PROTO_FILE),
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_DIR)
    generate(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
