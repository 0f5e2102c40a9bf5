"""SettingsMonitor: settings that change while the client runs (.NET's IOptionsMonitor, Polly's EnableReloads).

The monitor holds the settings in force and one entry point, ``reload()``, that loads the settings
again from their ``SettingsSource`` exactly as at start-up (files, environment, overrides) and
validates them. Valid new settings are applied to the running components that registered for
their section (each through its own ``update_options``) without dropping the connection or any
pending request; keys no component can apply live (the server URL, the token, the exporter...)
are reported as needing a restart. Invalid ones leave everything as it was, log one line naming
the keys, and raise ``on_reload_failed``. ``on_reloaded`` carries what changed.

The file watcher (``watch()``) only decides *when* to call ``reload()``: tests call ``reload()``
directly and never wait on a watcher's timing. It uses ``watchfiles`` (inotify through the Rust
``notify`` crate): changes arrive within milliseconds without polling, and it watches the
directories, so an editor's save-by-rename and a file created later (the environment's file) are
both seen; polling ``stat()`` by hand would either lag or spin.

Registering another component (the container registers the breaker, the retry policy, the
reconnection service and the client's timeouts and heartbeat)::

    monitor.register(
        "ProjectManagement:RateLimit", limiter.update_options, lambda s: s.project_management.rate_limit
    )
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic.alias_generators import to_pascal

from projectmanagement_services.events import Event
from projectmanagement_services.settings import AppSettings, SettingsError, settings_files

__all__ = ["SettingsMonitor", "SettingsReload", "SettingsSource"]

_log = logging.getLogger(__name__)

#: How long ``aclose()`` waits for the watcher thread to notice its stop event.
_STOP_TIMEOUT: Final = 5.0
#: watchfiles groups the writes of one save that arrive within this many milliseconds.
_DEBOUNCE_MS: Final = 200
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class SettingsSource:
    """Where settings come from: the arguments of ``AppSettings.load``, kept so it can run again."""

    config_path: str | Path | None = None
    environment: str | None = None
    overrides: Mapping[str, Any] | None = None
    #: Environment variables to read; ``None`` reads ``os.environ`` at every load.
    env: Mapping[str, str] | None = None

    def load(self) -> AppSettings:
        """``AppSettings.load`` with these arguments (raises ``SettingsError``)."""
        return AppSettings.load(
            self.config_path, environment=self.environment, overrides=self.overrides, env=self.env
        )

    def files(self) -> tuple[Path, ...]:
        """The files that ``load`` reads (the environment's file too, whether it exists yet or not)."""
        return settings_files(self.config_path, environment=self.environment, env=self.env)


@dataclass(frozen=True, slots=True)
class SettingsReload:
    """What one reload changed. Key paths as in errors: ``ProjectManagement:RetryPolicy:MaxAttempts``.

    Attributes:
        previous: the settings before this reload.
        current: the settings loaded now (what ``SettingsMonitor.current`` returns from now on).
        changed: every key whose value differs from ``previous``.
        applied: of those, the keys now in force in the running components.
        restart_required: every key whose loaded value differs from the one the components
            started with and that no component applies live (also from earlier reloads, until
            the value is put back): these wait for a restart.
    """

    previous: AppSettings
    current: AppSettings
    changed: tuple[str, ...]
    applied: tuple[str, ...]
    restart_required: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _LiveSection:
    """A component that applies a section (or some of its keys) live."""

    path: tuple[str, ...]  # lower-cased key path of the section
    keys: frozenset[str] | None  # lower-cased keys of the section applied live; None: all
    select: Callable[[AppSettings], Any]
    apply: Callable[[Any], object]
    label: str = field(compare=False)

    def covers(self, key_path: str) -> bool:
        parts = tuple(part.lower() for part in key_path.split(":"))
        if parts[: len(self.path)] != self.path or len(parts) == len(self.path):
            return False
        return self.keys is None or parts[len(self.path)] in self.keys


class SettingsMonitor:
    """The settings in force, reloaded on demand (``reload()``) or on file changes (``watch()``).

    Args:
        settings: the settings the components were built with.
        source: where to load them again; ``None`` (settings built in code) makes ``reload()``
            a no-op that only logs.
    """

    def __init__(self, settings: AppSettings, source: SettingsSource | None = None) -> None:
        self._initial = settings
        self._current = settings
        self._source = source
        self._live: list[_LiveSection] = []
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self.on_reloaded: Event[SettingsReload] = Event("on_reloaded")
        self.on_reload_failed: Event[SettingsError] = Event("on_reload_failed")

    @property
    def current(self) -> AppSettings:
        """The latest valid settings (live keys in force; restart keys waiting for a restart)."""
        return self._current

    @property
    def source(self) -> SettingsSource | None:
        return self._source

    @property
    def is_watching(self) -> bool:
        return self._task is not None and not self._task.done()

    def register(
        self,
        section: str,
        apply: Callable[[Any], object],
        select: Callable[[AppSettings], Any],
        *,
        keys: Iterable[str] | None = None,
    ) -> None:
        """Have ``apply(select(new_settings))`` called when a key of ``section`` changes.

        Args:
            section: the section's key path, e.g. ``"ProjectManagement:CircuitBreaker"``.
            apply: usually a component's ``update_options``; it must not drop connections or
                requests, and runs on the event loop that calls ``reload()``.
            select: picks the section's options object out of the new ``AppSettings``.
            keys: only these keys of the section apply live (PascalCase or snake_case); a change
                to any other key of it is reported as needing a restart. ``None``: all of them.
        """
        self._live.append(
            _LiveSection(
                path=tuple(part.lower() for part in section.split(":")),
                keys=None if keys is None else frozenset(to_pascal(key).lower() for key in keys),
                select=select,
                apply=apply,
                label=section,
            )
        )

    def is_live(self, key_path: str) -> bool:
        """Whether a registered component applies ``key_path`` without a restart."""
        return any(live.covers(key_path) for live in self._live)

    # -- the entry point -----------------------------------------------------------------------

    def reload(self) -> SettingsReload | None:
        """Load and validate the settings again; apply them if valid. ``None``: nothing changed
        (or the load failed: then ``on_reload_failed`` was raised and the old settings stay)."""
        if self._source is None:
            _log.info("settings reload skipped: these settings were not loaded from files")
            return None
        try:
            loaded = self._source.load()
        except SettingsError as exc:
            _log.warning("settings reload rejected, previous settings kept: %s", _one_line(exc))
            self.on_reload_failed.emit(exc)
            return None
        return self.apply(loaded)

    def apply(self, settings: AppSettings) -> SettingsReload | None:
        """Put already-validated ``settings`` in force (what ``reload()`` does after loading)."""
        previous = self._current
        changed = _changed_keys(previous, settings)
        if not changed:
            return None
        applied: list[str] = []
        for live in self._live:
            keys = [key for key in changed if live.covers(key)]
            if not keys:
                continue
            try:
                live.apply(live.select(settings))
            except Exception:
                _log.exception("settings reload: %s could not apply its new options", live.label)
                continue
            applied.extend(keys)
        self._current = settings
        restart = tuple(key for key in _changed_keys(self._initial, settings) if not self.is_live(key))
        result = SettingsReload(previous, settings, changed, tuple(applied), restart)
        _log.info(
            "settings reloaded: applied %s%s",
            ", ".join(result.applied) or "nothing",
            f"; needs a restart: {', '.join(restart)}" if restart else "",
        )
        self.on_reloaded.emit(result)
        return result

    # -- watching ------------------------------------------------------------------------------

    def start_watching(self) -> None:
        """Reload whenever a settings file is written, created or replaced (until ``aclose()``)."""
        if self.is_watching:
            return
        if self._source is None:
            _log.warning("ReloadOnChange is on but the settings were not loaded from files: nothing to watch")
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._watch(self._stop), name="pm settings watch")

    async def aclose(self) -> None:
        """Stop watching (the watcher thread notices within its 50 ms step)."""
        task, stop = self._task, self._stop
        self._task = self._stop = None
        if task is None or stop is None:
            return
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), _STOP_TIMEOUT)
        except TimeoutError:
            task.cancel()
        except Exception:
            _log.exception("settings watcher failed")

    async def _watch(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        assert self._source is not None
        files = {path.absolute() for path in self._source.files()}
        directories = sorted({path.parent for path in files if path.parent.is_dir()})
        if not directories:
            _log.warning("settings watch: none of the directories of %s exists", sorted(map(str, files)))
            return

        def is_settings_file(_change: object, path: str) -> bool:
            return Path(path).absolute() in files

        _log.info("watching %s for settings changes", ", ".join(sorted(map(str, files))))
        async for _ in awatch(
            *directories,
            watch_filter=is_settings_file,
            stop_event=stop,
            recursive=False,
            debounce=_DEBOUNCE_MS,
        ):
            self.reload()


def _changed_keys(before: AppSettings, after: AppSettings) -> tuple[str, ...]:
    """Key paths whose values differ (secrets compared, never shown: only paths are returned)."""
    old = _flatten(before.as_appsettings(reveal_secrets=True))
    new = _flatten(after.as_appsettings(reveal_secrets=True))
    return tuple(
        key for key in sorted(old.keys() | new.keys()) if old.get(key, _MISSING) != new.get(key, _MISSING)
    )


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, path + ":"))
        else:
            flat[path] = value
    return flat


def _one_line(error: SettingsError) -> str:
    """Every problem on one line, each naming its key (and the file it came from)."""
    parts = []
    for key_path, message in error.errors:
        text = f"{key_path} {message}" if key_path else message
        source = error.sources.get(key_path)
        parts.append(f"{text} (from {source})" if source else text)
    return "; ".join(parts)
