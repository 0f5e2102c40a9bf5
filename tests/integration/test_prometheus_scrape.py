"""A real Prometheus server scrapes the ``prometheus`` exporter, and its HTTP API gives the values back.

The container is built from settings alone (``Exporter: prometheus``, ``PrometheusPort: 0``) and
runs against the reference server: a retried create, a dropped malformed frame and a heartbeat
round trip, a real reconnect, and a breaker trip followed by a rejected call. Then Debian's
``prometheus`` (``apt-get install prometheus``; ``.ci/run`` installs it) is started on 127.0.0.1 with
a temporary config and storage directory and a 1 s scrape interval; the test polls its query API
(bounded) until the scrape has landed and reads every metric of design.md section 8 back.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from projectmanagement_core.exceptions import CircuitOpenException, ServerRejectedException
from projectmanagement_core.models import CreateProjectRequest, CreateWorkItemRequest, WorkItemType
from projectmanagement_services import AppSettings, create_container, running
from projectmanagement_services.resilience import CircuitState
from projectmanagement_services.testing import PmTestServer

#: The whole test, Prometheus' start-up and first scrapes included, stays under this.
LIMIT = 25.0
PROMETHEUS_CANDIDATES = ("/usr/bin/prometheus", "/usr/local/bin/prometheus")


def find_prometheus() -> str | None:
    """The Prometheus binary where Debian's package puts it (not looked up on the shell's PATH)."""
    return next((path for path in PROMETHEUS_CANDIDATES if Path(path).is_file()), None)


PROMETHEUS = find_prometheus()
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="no Prometheus server binary at /usr/bin/prometheus (Debian: apt-get install prometheus; .ci/run does)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrometheusServer:
    """A throwaway Prometheus on loopback that scrapes one target every second."""

    def __init__(self, binary: str, workdir: Path, target: str) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: pm\n"
            f"    static_configs:\n      - targets: ['{target}']\n",
            encoding="utf-8",
        )
        self.log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector ``promql`` evaluates to now ([] while Prometheus is starting)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            return []
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[PrometheusServer] = []

    def start(target: str) -> PrometheusServer:
        assert PROMETHEUS is not None
        server = PrometheusServer(PROMETHEUS, tmp_path, target)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def wait_for(prometheus: PrometheusServer, promql: str) -> list[dict[str, Any]]:
    """Poll the query API until ``promql`` has a value (bounded by the caller's timeout)."""
    while True:
        result = await asyncio.to_thread(prometheus.query, promql)
        if result:
            return result
        assert prometheus.process.poll() is None, "prometheus exited; see prometheus.log"
        await asyncio.sleep(0.2)


def scalar(result: list[dict[str, Any]], **labels: str) -> float:
    matching = [float(r["value"][1]) for r in result if labels.items() <= r["metric"].items()]
    assert len(matching) == 1, (labels, result)
    return matching[0]


async def test_a_real_prometheus_scrapes_section_8_and_queries_it_back(prometheus_factory: Any) -> None:
    async with asyncio.timeout(LIMIT), PmTestServer() as server:
        settings = AppSettings.load(
            env={},
            overrides={
                "ProjectManagement": {
                    "WebSocket": {"ServerUrl": server.url, "UserId": str(uuid4())},
                    "RetryPolicy": {
                        "MaxAttempts": 2,
                        "InitialDelay": "00:00:00.001",
                        "MaxDelay": "00:00:00.010",
                    },
                    "CircuitBreaker": {"FailureThreshold": 2, "OpenDuration": "00:05:00"},
                    "Reconnection": {"InitialDelay": "00:00:00.001", "MaxDelay": "00:00:00.010"},
                    "Telemetry": {"Exporter": "prometheus", "PrometheusPort": 0, "ServiceName": "pm-scraped"},
                }
            },
        )
        container = create_container(settings)
        async with running(container):
            client = container.client()
            project = await client.create_project(CreateProjectRequest(key="PROM", title="prom"))
            await client.subscribe([project.id])
            server.faults.fail_requests(1, code="SERVICE_UNAVAILABLE")
            await client.create_work_item(
                CreateWorkItemRequest(project_id=project.id, item_type=WorkItemType.TASK, title="retried")
            )
            await server.faults.send_malformed()
            await client.ping()
            reconnected: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            container.reconnection().on_reconnected.subscribe(reconnected.set_result)
            await server.faults.drop_all()
            await reconnected
            server.faults.fail_requests(4, code="SERVICE_UNAVAILABLE")
            for _ in range(2):
                with pytest.raises(ServerRejectedException):
                    await client.get_work_items(project.id)
            with pytest.raises(CircuitOpenException):
                await client.get_work_items(project.id)
            assert container.circuit_breaker().state is CircuitState.OPEN

            exported = container.telemetry_providers()
            assert exported is not None
            assert exported.metrics_url is not None
            target = urlsplit(exported.metrics_url).netloc
            prometheus = prometheus_factory(target)

            up = await wait_for(prometheus, 'up{job="pm"} == 1')
            assert up[0]["metric"]["instance"] == target
            state = await wait_for(prometheus, "pm_resilience_circuit_state")
            assert scalar(state, pm_circuit_name="pm", job="pm") == 2  # 2 = open

            retries = await wait_for(prometheus, "pm_resilience_retry_attempts_total")
            assert scalar(retries, rpc_method="CreateWorkItem", error_type="SERVICE_UNAVAILABLE") == 1
            assert scalar(retries, rpc_method="GetWorkItems", error_type="SERVICE_UNAVAILABLE") == 2
            transitions = await wait_for(prometheus, "pm_resilience_circuit_transitions_total")
            assert scalar(transitions, pm_circuit_from="Closed", pm_circuit_to="Open") == 1
            rejections = await wait_for(prometheus, "pm_resilience_circuit_rejections_total")
            assert scalar(rejections, rpc_method="GetWorkItems") == 1
            reconnects = await wait_for(prometheus, "pm_reconnection_attempts_total")
            assert scalar(reconnects, outcome="success") == 1
            dropped = await wait_for(prometheus, "pm_client_frames_dropped_total")
            assert scalar(dropped, reason="malformed") == 1
            rtt = await wait_for(prometheus, "pm_connection_rtt_seconds_count")
            assert scalar(rtt) >= 1
            durations = await wait_for(prometheus, "pm_client_operation_duration_seconds_count")
            assert scalar(durations, rpc_method="CreateWorkItem") == 1
            assert scalar(durations, rpc_method="GetWorkItems", error_type="SERVICE_UNAVAILABLE") == 2
            assert scalar(durations, rpc_method="GetWorkItems", error_type="CircuitOpenException") == 1
            target_info = await wait_for(prometheus, "target_info")
            assert scalar(target_info, service_name="pm-scraped") == 1
