"""Fixtures for the ported upstream tests: the raw-client helpers of the reference server's own tests."""

from __future__ import annotations

import pytest

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import Connect, RawClient, alice, connect, project, server

__all__ = ["alice", "connect", "editor", "project", "server"]


@pytest.fixture
async def editor(server: PmTestServer, connect: Connect, project: pb.Project) -> RawClient:
    """A user with the ``editor`` role in ``project``, as upstream's fixtures insert one."""
    client = await connect()
    server.add_member(project.id, client.user_id, "editor")
    return client
