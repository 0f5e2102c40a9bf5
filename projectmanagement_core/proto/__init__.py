"""The pm-ws wire schema and its generated Python modules (regenerate: scripts/generate_proto.py)."""

from projectmanagement_core.proto import messages_pb2

__all__ = ["messages_pb2"]
