"""A small OTLP/HTTP receiver for tests: what an OpenTelemetry collector would have received.

Listens on 127.0.0.1 with a random port, accepts ``POST /v1/traces`` and ``POST /v1/metrics``
(protobuf, optionally gzip- or deflate-compressed), decodes them with ``opentelemetry-proto``, keeps
them, and answers 200 with an empty export response. Use it as a context manager::

    with OtlpReceiver() as receiver:
        providers = configure_telemetry(
            TelemetryOptions(exporter="otlp", otlp_endpoint=receiver.endpoint)
        )
        ...  # record spans and metrics, then
        providers.force_flush()
        receiver.wait_for_spans("pm CreateWorkItem")            # or: await receiver.wait_for_spans_async(...)
        assert receiver.span_attributes("pm CreateWorkItem")["rpc.method"] == "CreateWorkItem"
        assert "pm.resilience.retry.attempts" in receiver.metric_names()

Every wait is bounded (``timeout`` seconds, default 5) and raises ``TimeoutError`` naming what was
missing and what did arrive.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["MetricPoint", "OtlpReceiver", "ReceivedSpan", "attributes_of"]

TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"


def _value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value_of(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_of(pairs: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list as a plain dict (``{"rpc.method": "CreateWorkItem"}``)."""
    result: dict[str, Any] = {}
    pair: KeyValue
    for pair in pairs:
        result[pair.key] = _value_of(pair.value)
    return result


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span with its instrumentation scope and resource, attributes as a dict."""

    name: str
    kind: int
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    status_code: int
    scope_name: str
    scope_version: str
    resource: dict[str, Any]
    raw: Span


@dataclass(frozen=True)
class MetricPoint:
    """One data point: ``value`` for sums and gauges, ``count``/``sum`` for histograms."""

    metric: str
    unit: str
    attributes: dict[str, Any]
    value: float | None = None
    count: int | None = None
    sum: float | None = None


class OtlpReceiver:
    """OTLP/HTTP endpoint on 127.0.0.1:<random port>; thread-safe; see the module docstring."""

    def __init__(self) -> None:
        self.trace_requests: list[ExportTraceServiceRequest] = []
        self.metric_requests: list[ExportMetricsServiceRequest] = []
        #: (path, content-type, content-encoding) of every request, including rejected ones.
        self.requests: list[tuple[str, str, str]] = []
        self._arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The base URL to put in ``OtlpEndpoint`` (``http://127.0.0.1:<port>``)."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- request handling --------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        encoding = (handler.headers.get("Content-Encoding") or "").lower()
        content_type = handler.headers.get("Content-Type") or ""
        with self._arrived:
            self.requests.append((handler.path, content_type, encoding))
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if handler.path == TRACES_PATH:
                traces = ExportTraceServiceRequest.FromString(body)
                reply = ExportTraceServiceResponse().SerializeToString()
                with self._arrived:
                    self.trace_requests.append(traces)
                    self._arrived.notify_all()
            elif handler.path == METRICS_PATH:
                metrics = ExportMetricsServiceRequest.FromString(body)
                reply = ExportMetricsServiceResponse().SerializeToString()
                with self._arrived:
                    self.metric_requests.append(metrics)
                    self._arrived.notify_all()
            else:
                self._reply(handler, HTTPStatus.NOT_FOUND, b"")
                return
        except (DecodeError, OSError, zlib.error, EOFError):
            self._reply(handler, HTTPStatus.BAD_REQUEST, b"")
            return
        self._reply(handler, HTTPStatus.OK, reply)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: HTTPStatus, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/x-protobuf")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # -- what arrived ------------------------------------------------------------------------

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in arrival order."""
        with self._arrived:
            requests = list(self.trace_requests)
        result: list[ReceivedSpan] = []
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = attributes_of(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        result.append(
                            ReceivedSpan(
                                name=span.name,
                                kind=span.kind,
                                attributes=attributes_of(span.attributes),
                                events=[(e.name, attributes_of(e.attributes)) for e in span.events],
                                status_code=span.status.code,
                                scope_name=scope_spans.scope.name,
                                scope_version=scope_spans.scope.version,
                                resource=resource,
                                raw=span,
                            )
                        )
        return result

    def span_names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        return [span for span in self.spans() if span.name == name]

    def span_attributes(self, name: str) -> dict[str, Any]:
        """Attributes of the first span called ``name`` (``KeyError`` when none arrived)."""
        matching = self.spans_named(name)
        if not matching:
            raise KeyError(f"no span named {name!r}; received {self.span_names()}")
        return matching[0].attributes

    def metrics(self) -> list[tuple[dict[str, Any], str, Metric]]:
        """Every metric received so far as (resource attributes, scope name, metric)."""
        with self._arrived:
            requests = list(self.metric_requests)
        return [
            (attributes_of(rm.resource.attributes), sm.scope.name, metric)
            for request in requests
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]

    def metric_names(self) -> set[str]:
        return {metric.name for _, _, metric in self.metrics()}

    def metric_points(self, name: str) -> list[MetricPoint]:
        """Data points of metric ``name`` across every export (cumulative sums repeat per export)."""
        points: list[MetricPoint] = []
        for _, _, metric in self.metrics():
            if metric.name != name:
                continue
            kind = metric.WhichOneof("data")
            if kind in ("sum", "gauge"):
                for point in getattr(metric, kind).data_points:
                    number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                    points.append(
                        MetricPoint(name, metric.unit, attributes_of(point.attributes), value=number)
                    )
            elif kind == "histogram":
                for point in metric.histogram.data_points:
                    points.append(
                        MetricPoint(
                            name,
                            metric.unit,
                            attributes_of(point.attributes),
                            count=point.count,
                            sum=point.sum,
                        )
                    )
        return points

    # -- waiting -----------------------------------------------------------------------------

    def wait_for_spans(self, *names: str, timeout: float = 5.0) -> None:
        """Block until a span of each name has arrived; ``TimeoutError`` after ``timeout`` s."""
        self._wait(lambda: set(names) <= set(self.span_names()), f"spans {sorted(names)}", timeout)

    def wait_for_metrics(self, *names: str, timeout: float = 5.0) -> None:
        """Block until each named metric has arrived; ``TimeoutError`` after ``timeout`` s."""
        self._wait(lambda: set(names) <= self.metric_names(), f"metrics {sorted(names)}", timeout)

    async def wait_for_spans_async(self, *names: str, timeout: float = 5.0) -> None:
        """``wait_for_spans`` without blocking the event loop."""
        await asyncio.to_thread(self.wait_for_spans, *names, timeout=timeout)

    async def wait_for_metrics_async(self, *names: str, timeout: float = 5.0) -> None:
        """``wait_for_metrics`` without blocking the event loop."""
        await asyncio.to_thread(self.wait_for_metrics, *names, timeout=timeout)

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        with self._arrived:
            if self._arrived.wait_for(ready, timeout=timeout):
                return
        raise TimeoutError(
            f"{what} did not arrive within {timeout} s; spans: {self.span_names()}, "
            f"metrics: {sorted(self.metric_names())}"
        )
