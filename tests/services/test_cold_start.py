"""Cold start: importing the package loads none of the heavy dependencies until a name is used.

Each check runs in a fresh interpreter (``sys.executable``): the test process has long imported
everything, so only a new process shows what ``import projectmanagement_services`` itself loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Modules that ``import projectmanagement_services`` (or ``projectmanagement_core``) must not load
#: (issue 15, cold start); ``importlib.metadata`` is read for ``__version__`` on first access only.
HEAVY = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "dependency_injector",
    "rich",
    "websockets",
    "opentelemetry",
    "google.protobuf",
    "importlib.metadata",
    "projectmanagement_core.models",
    "projectmanagement_core.exceptions",
    "projectmanagement_services.testing",
    "projectmanagement_services.container",
)


def run_fresh(script: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    result = run_fresh(
        f"""
        import json, sys
        import projectmanagement_services
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))))
        """
    )
    assert result == []


def test_importing_the_core_package_loads_no_model() -> None:
    result = run_fresh(
        f"""
        import json, sys
        import projectmanagement_core
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))))
        """
    )
    assert result == []


def test_every_core_exported_name_resolves_in_a_fresh_process() -> None:
    result = run_fresh(
        """
        import json
        import projectmanagement_core as pkg
        missing = [name for name in pkg.__all__ if getattr(pkg, name, None) is None]
        print(json.dumps({"missing": missing, "dir": sorted(set(pkg.__all__) - set(dir(pkg)))}))
        """
    )
    assert result == {"missing": [], "dir": []}


def test_every_exported_name_resolves_in_a_fresh_process() -> None:
    result = run_fresh(
        """
        import json
        import projectmanagement_services as pkg
        missing = [name for name in pkg.__all__ if getattr(pkg, name, None) is None]
        print(json.dumps({"missing": missing, "dir": sorted(set(pkg.__all__) - set(dir(pkg)))}))
        """
    )
    assert result == {"missing": [], "dir": []}


def test_the_version_comes_from_its_own_module_without_the_package_graph() -> None:
    result = run_fresh(
        """
        import json, sys
        from projectmanagement_services._version import __version__
        import projectmanagement_services.telemetry
        print(json.dumps({"version": __version__, "container": "projectmanagement_services.container" in sys.modules}))
        """
    )
    import projectmanagement_services

    assert result == {"version": projectmanagement_services.__version__, "container": False}


def test_an_unknown_name_is_an_attribute_error() -> None:
    import projectmanagement_services

    with pytest.raises(AttributeError, match="no attribute 'NotAThing'"):
        _ = projectmanagement_services.NotAThing  # type: ignore[attr-defined]


def test_building_the_pm_parser_loads_neither_the_container_nor_the_demo_engine() -> None:
    """``pm --help`` builds the parser only: the container (dependency-injector) waits for a command."""
    result = run_fresh(
        """
        import json, sys
        from projectmanagement_services.cli import build_parser
        build_parser()
        heavy = ("dependency_injector", "projectmanagement_services.container",
                 "projectmanagement_services.demo.run",
                 "opentelemetry.sdk")
        print(json.dumps(sorted(m for m in sys.modules if m in heavy)))
        """
    )
    assert result == []


def test_subpackages_resolve_every_exported_name_lazily() -> None:
    result = run_fresh(
        """
        import json, sys, importlib
        missing = []
        for name in ("resilience", "websocket", "state", "demo", "testing", "cli_commands"):
            package = importlib.import_module("projectmanagement_services." + name)
            missing += [f"{name}.{attr}" for attr in package.__all__ if getattr(package, attr, None) is None]
        print(json.dumps(missing))
        """
    )
    assert result == []
