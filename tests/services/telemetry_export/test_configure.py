"""configure_telemetry: exporters by name, and the global providers of a host application left alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from projectmanagement_services.telemetry import METRIC_RETRY_ATTEMPTS, TelemetryOptions
from projectmanagement_services.telemetry_setup import configure_telemetry


def run_isolated(script: str) -> dict[str, object]:
    """Run ``script`` in a fresh interpreter: OTel globals can be set only once per process."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_none_builds_nothing() -> None:
    assert configure_telemetry(TelemetryOptions(exporter="none"), set_global=True) is None


def test_none_imports_no_sdk_and_touches_no_global() -> None:
    result = run_isolated(
        """
        import json, sys
        from opentelemetry import metrics, trace
        from projectmanagement_services.telemetry import TelemetryOptions
        from projectmanagement_services.telemetry_setup import configure_telemetry
        before = (trace.get_tracer_provider(), metrics.get_meter_provider())
        built = configure_telemetry(TelemetryOptions(exporter="none"), set_global=True)
        after = (trace.get_tracer_provider(), metrics.get_meter_provider())
        print(json.dumps({
            "built": built is not None,
            "same": before[0] is after[0] and before[1] is after[1],
            "sdk_imported": any(m.startswith("opentelemetry.sdk") for m in sys.modules),
        }))
        """
    )
    assert result == {"built": False, "same": True, "sdk_imported": False}


def test_console_exporter_writes_spans_and_metrics() -> None:
    out = io.StringIO()
    built = configure_telemetry(
        TelemetryOptions(exporter="console", service_name="console-test"), console_out=out
    )
    assert built is not None
    try:
        assert isinstance(built.tracer_provider, TracerProvider)
        assert isinstance(built.meter_provider, MeterProvider)
        built.tracer_provider.get_tracer("t").start_span("pm ConsoleSpan").end()
        built.meter_provider.get_meter("t").create_counter(METRIC_RETRY_ATTEMPTS).add(1)
        assert built.force_flush()
    finally:
        built.shutdown()
    text = out.getvalue()
    assert '"name": "pm ConsoleSpan"' in text
    assert METRIC_RETRY_ATTEMPTS in text
    assert "console-test" in text


def test_not_global_unless_asked() -> None:
    from opentelemetry import trace

    built = configure_telemetry(TelemetryOptions(exporter="console"), console_out=io.StringIO())
    assert built is not None
    try:
        assert trace.get_tracer_provider() is not built.tracer_provider
        assert (built.tracer_provider_is_global, built.meter_provider_is_global) == (False, False)
    finally:
        built.shutdown()


def test_set_global_installs_when_nothing_is_configured() -> None:
    result = run_isolated(
        """
        import io, json
        from opentelemetry import metrics, trace
        from projectmanagement_services.telemetry import TelemetryOptions
        from projectmanagement_services.telemetry_setup import configure_telemetry
        built = configure_telemetry(TelemetryOptions(exporter="console"), set_global=True, console_out=io.StringIO())
        print(json.dumps({
            "tracer": trace.get_tracer_provider() is built.tracer_provider,
            "meter": metrics.get_meter_provider() is built.meter_provider,
            "flags": [built.tracer_provider_is_global, built.meter_provider_is_global],
        }))
        built.shutdown()
        """
    )
    assert result == {"tracer": True, "meter": True, "flags": [True, True]}


def test_set_global_keeps_host_providers_and_warns() -> None:
    result = run_isolated(
        """
        import io, json, logging
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from projectmanagement_services.telemetry import TelemetryOptions
        from projectmanagement_services.telemetry_setup import configure_telemetry

        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append((record.levelname, record.getMessage()))
        logging.getLogger("projectmanagement_services").addHandler(Keep())

        host_tracer, host_meter = TracerProvider(), MeterProvider()
        trace.set_tracer_provider(host_tracer)
        metrics.set_meter_provider(host_meter)
        built = configure_telemetry(TelemetryOptions(exporter="console"), set_global=True, console_out=io.StringIO())
        print(json.dumps({
            "tracer_kept": trace.get_tracer_provider() is host_tracer,
            "meter_kept": metrics.get_meter_provider() is host_meter,
            "flags": [built.tracer_provider_is_global, built.meter_provider_is_global],
            "ours_usable": built.tracer_provider is not host_tracer,
            "warnings": [m for level, m in records if level == "WARNING"],
        }))
        built.shutdown()
        host_meter.shutdown()
        """
    )
    assert result["tracer_kept"] is True
    assert result["meter_kept"] is True
    assert result["flags"] == [False, False]
    assert result["ours_usable"] is True
    assert result["warnings"] == [
        "telemetry: a global TracerProvider (TracerProvider) is already configured; keeping it",
        "telemetry: a global MeterProvider (MeterProvider) is already configured; keeping it",
    ]


def test_console_exporter_defaults_to_stderr_so_it_never_mixes_with_program_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = configure_telemetry(TelemetryOptions(exporter="console", service_name="stderr-test"))
    assert built is not None
    try:
        built.tracer_provider.get_tracer("t").start_span("pm StderrSpan").end()
        assert built.force_flush()
    finally:
        built.shutdown()
    captured = capsys.readouterr()
    assert '"name": "pm StderrSpan"' in captured.err
    assert "pm StderrSpan" not in captured.out
