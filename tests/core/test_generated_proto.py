"""The committed pb2 modules must equal a fresh generation from messages.proto."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "projectmanagement_core" / "proto"


def _load_generator() -> object:
    spec = importlib.util.spec_from_file_location("generate_proto", ROOT / "scripts" / "generate_proto.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_proto"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["messages_pb2.py", "messages_pb2.pyi"])
def test_committed_module_matches_fresh_generation(tmp_path: Path, name: str) -> None:
    generator = _load_generator()
    generator.generate(tmp_path)  # type: ignore[attr-defined]
    fresh = (tmp_path / name).read_text()
    committed = (PROTO_DIR / name).read_text()
    assert committed == fresh, f"{name} is stale: run python scripts/generate_proto.py and commit"
