"""``pm serve`` limits as pm-server does by default, and its flags change or remove the limit."""

from __future__ import annotations

import asyncio
import signal

import pytest
from websockets.asyncio.client import connect as ws_connect

from projectmanagement_services.cli import build_parser, main
from tests.services.testing.conftest import RawClient, make
from tests.services.testing.test_serve_cli import _free_port, _start_announced


def test_serve_defaults_to_pm_servers_limit() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.rate_limit_burst, args.rate_limit_period, args.no_rate_limit) == (100, 60.0, False)


def test_a_nonsense_limit_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--rate-limit-burst", "0"]) == 2
    assert "burst must be >= 1" in capsys.readouterr().err


async def test_pm_serve_warns_beyond_the_burst_it_was_given() -> None:
    process, announcement = await _start_announced(
        "--port", str(_free_port()), "--rate-limit-burst", "2", "--rate-limit-period", "60"
    )
    url = announcement.split()[-1]
    assert "; rate limit 2 then 1 per 60 s; " in announcement  # said once, in the announcement
    try:
        async with ws_connect(url) as ws:
            client = RawClient(ws, "?")
            for i in range(2):
                assert (await client.call("ping", timestamp=i)).pong.timestamp == i
            await client.send(make("ping", timestamp=2))
            async with asyncio.timeout(10):
                assert await client.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0
        assert "Traceback" not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
