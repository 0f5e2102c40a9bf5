"""AppSettings: the client's configuration, layered the way .NET reads ``appsettings.json``.

Sources, later wins per key (design.md section 6)::

    code defaults
      < appsettings.json                      (or the file passed explicitly)
      < appsettings.{Environment}.json        (Environment from the argument or PM_ENVIRONMENT)
      < environment variables                 (ProjectManagement__RetryPolicy__MaxAttempts=5)
      < overrides passed in code

Layers merge per key (deep), keys match case-insensitively at every level (as .NET configuration),
and the merged tree is validated once so that every problem is reported together, each naming its
full key path (``ProjectManagement:RetryPolicy:MaxDelay must be >= InitialDelay``).

``AppSettings`` is a pydantic-settings ``BaseSettings``, but constructing it directly reads only its
keyword arguments: the layering above lives in ``AppSettings.load`` because .NET's rules (an
injectable environment mapping, case-insensitive nested keys, per-key merge across files, errors that
name the source of a bad value) differ from pydantic-settings' own sources.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Final, Generic, Self, TypeVar, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.alias_generators import to_pascal
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from projectmanagement_services.options_base import RULE_ERROR, OptionsModel
from projectmanagement_services.resilience.options import (
    CircuitBreakerOptions,
    RateLimitOptions,
    ReconnectionOptions,
    RetryPolicyOptions,
)
from projectmanagement_services.telemetry import TelemetryOptions
from projectmanagement_services.websocket.options import WebSocketOptions

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "ENVIRONMENT_VARIABLE",
    "AppSettings",
    "LogLevel",
    "LoggingOptions",
    "ProjectManagementSettings",
    "SettingsError",
    "SettingsOptions",
    "SettingsSources",
    "SettingsWarning",
    "settings_files",
]

_log = logging.getLogger(__name__)

#: The settings file read from the working directory when no path is given (optional there).
DEFAULT_SETTINGS_FILE: Final = "appsettings.json"
#: Names the environment whose ``appsettings.{Environment}.json`` is layered on top.
ENVIRONMENT_VARIABLE: Final = "PM_ENVIRONMENT"
#: What a rendered secret looks like (pydantic's own mask).
_MASK: Final = "**********"
#: Environment values that mean "no value" for a nullable option (``Reconnection:MaxAttempts``).
_NULL_WORDS: Final = frozenset({"null", ""})
#: What an environment name may be: it becomes part of a file name, so no path separators.
_ENVIRONMENT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: How alike an unknown top-level section must be to a known one to be reported as a misspelling.
_NEAR_MISS: Final = 0.8
#: Pydantic error type used by section validators to report on a key below the section.
_NESTED_ERROR: Final = "nested_setting"


class LogLevel(StrEnum):
    """.NET ``Microsoft.Extensions.Logging`` level names; parsed case-insensitively."""

    TRACE = "Trace"
    DEBUG = "Debug"
    INFORMATION = "Information"
    WARNING = "Warning"
    ERROR = "Error"
    CRITICAL = "Critical"
    NONE = "None"

    @classmethod
    def _missing_(cls, value: object) -> LogLevel | None:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.strip().lower():
                    return member
        return None

    @property
    def python_level(self) -> int:
        """The ``logging`` level: Trace is 5 (below DEBUG), None is above CRITICAL (silences all)."""
        return _PYTHON_LEVELS[self]


_PYTHON_LEVELS: Final = {
    LogLevel.TRACE: 5,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFORMATION: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.CRITICAL: logging.CRITICAL,
    LogLevel.NONE: logging.CRITICAL + 10,
}


class LoggingOptions(OptionsModel):
    """The ``Logging`` section: ``LogLevel`` maps a category (a logger name prefix) to a level.

    ``Default`` applies to every logger without a more specific category, as in .NET; other keys are
    logger names (``"projectmanagement_services.resilience": "Debug"``).
    """

    log_level: dict[str, LogLevel] = Field(default_factory=lambda: {"Default": LogLevel.INFORMATION})

    def level_for(self, logger_name: str) -> int:
        """The Python level for ``logger_name``: the longest matching category, else ``Default``."""
        best: tuple[int, LogLevel] | None = None
        lowered = logger_name.lower()
        for category, level in self.log_level.items():
            key = category.lower()
            if key == "default":
                continue
            if (lowered == key or lowered.startswith(key + ".")) and (best is None or len(key) > best[0]):
                best = (len(key), level)
        if best is not None:
            return best[1].python_level
        return self.default_level

    @property
    def default_level(self) -> int:
        """The ``Default`` category's Python level (Information when the key is absent)."""
        for category, level in self.log_level.items():
            if category.lower() == "default":
                return level.python_level
        return logging.INFO

    def apply(self) -> None:
        """Set the root logger to ``Default`` and each named category's logger to its level.

        Opt-in (the CLI calls it): a library must not reconfigure a host application's logging.
        """
        for category, level in self.log_level.items():
            name = None if category.lower() == "default" else category
            logging.getLogger(name).setLevel(level.python_level)


class SettingsOptions(OptionsModel):
    """The ``Settings`` section: how the settings themselves behave once the client runs.

    ``reload_on_change``: watch the settings files and apply valid changes live (as .NET's
    ``reloadOnChange: true``); off by default so that a deployment changes only when restarted.
    """

    reload_on_change: bool = False


class ProjectManagementSettings(OptionsModel):
    """The ``ProjectManagement`` section: one options object per component."""

    web_socket: WebSocketOptions = Field(default_factory=WebSocketOptions)
    circuit_breaker: CircuitBreakerOptions = Field(default_factory=CircuitBreakerOptions)
    retry_policy: RetryPolicyOptions = Field(default_factory=RetryPolicyOptions)
    reconnection: ReconnectionOptions = Field(default_factory=ReconnectionOptions)
    rate_limit: RateLimitOptions = Field(default_factory=RateLimitOptions)
    telemetry: TelemetryOptions = Field(default_factory=TelemetryOptions)
    settings: SettingsOptions = Field(default_factory=SettingsOptions)

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _rate_limit_null_is_off(cls, value: Any) -> Any:
        """``"RateLimit": null`` (or the env value ``null``) turns client-side limiting off."""
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULL_WORDS):
            return {"Burst": None}
        return value

    @field_validator("telemetry")
    @classmethod
    def _otlp_endpoint_is_http(cls, value: TelemetryOptions) -> TelemetryOptions:
        parts = urlsplit(value.otlp_endpoint)
        try:
            port_ok = parts.port != 0
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise PydanticCustomError(
                _NESTED_ERROR,
                "must be an http:// or https:// URL with a host (and a port between 1 and 65535, or none)",
                {"key": "OtlpEndpoint"},
            )
        return value


class SettingsError(ValueError):
    """Every problem found while loading settings, reported at once.

    A ``ValueError`` (bad configuration values), not a ``ProjectManagementException``: it is raised
    at start-up, before any client exists, and callers handle it the way they handle bad arguments.

    Attributes:
        errors: ``(key_path, message)`` pairs, e.g. ``("ProjectManagement:RetryPolicy:MaxDelay",
            "must be >= InitialDelay")``; ``key_path`` is ``""`` for problems with a file as a whole.
        sources: for a key path whose value came from a file, an environment variable or an
            override, where it came from (absent for code defaults).
    """

    def __init__(self, errors: Sequence[tuple[str, str]], sources: Mapping[str, str] | None = None) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        self.sources: dict[str, str] = dict(sources or {})
        count = len(self.errors)
        lines = [f"invalid settings ({count} error{'s' if count != 1 else ''}):"]
        for key_path, message in self.errors:
            line = f"{key_path} {message}" if key_path else message
            source = self.sources.get(key_path)
            lines.append(f"{line} (from {source})" if source else line)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class SettingsSources:
    """Where loaded settings came from.

    Attributes:
        layers: every source read, in order (files, then environment variables, then overrides).
        by_key: key path (``ProjectManagement:WebSocket:ServerUrl``) -> the source that set its value;
            keys left at their code default are absent.
    """

    layers: tuple[str, ...]
    by_key: dict[str, str]


class SettingsWarning(UserWarning):
    """Settings that load, but probably not as meant: a misspelt section, a missing environment file.

    A warning, not an error: a ``.NET``-style settings file may hold the host application's own
    sections, and a deployment may name an environment without a file of its own. The CLI prints
    each as one line; an application can turn them into errors with ``warnings.simplefilter``.
    """


class AppSettings(BaseSettings):
    """The whole configuration: ``settings.project_management.circuit_breaker.failure_threshold``.

    Attributes are snake_case, keys in files and environment variables PascalCase (any case is
    accepted). ``AppSettings()`` is the code defaults; ``AppSettings.load()`` layers the sources.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_pascal,
        populate_by_name=True,
        validate_default=True,
    )

    project_management: ProjectManagementSettings = Field(default_factory=ProjectManagementSettings)
    logging: LoggingOptions = Field(default_factory=LoggingOptions)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Direct construction reads its arguments only; ``load`` owns files and the environment."""
        return (init_settings,)

    @classmethod
    def load(
        cls,
        config_path: str | Path | None = None,
        *,
        environment: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """Load, merge and validate every source; raise ``SettingsError`` listing all problems.

        Args:
            config_path: the base settings file. When given it must exist; when ``None``,
                ``./appsettings.json`` is used if present, else code defaults.
            environment: selects ``{stem}.{environment}.json`` beside the base file (optional file);
                defaults to ``env["PM_ENVIRONMENT"]``.
            overrides: a nested mapping (PascalCase or snake_case keys) applied last.
            env: environment variables to read (default ``os.environ``); only keys whose first
                ``__``-separated segment is a known section (``ProjectManagement``, ``Logging``) count.
        """
        return cls._layers(config_path, environment=environment, overrides=overrides, env=env).validate()

    @classmethod
    def load_with_sources(
        cls,
        config_path: str | Path | None = None,
        *,
        environment: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[Self, SettingsSources]:
        """``load``, and where each value came from (for ``pm config show --sources``)."""
        layers = cls._layers(config_path, environment=environment, overrides=overrides, env=env)
        settings = layers.validate()
        return settings, layers.sources_of(settings.as_appsettings())

    @classmethod
    def _layers(
        cls,
        config_path: str | Path | None,
        *,
        environment: str | None,
        overrides: Mapping[str, Any] | None,
        env: Mapping[str, str] | None,
    ) -> _Layers[Self]:
        variables: Mapping[str, str] = os.environ if env is None else env
        layers = _Layers(cls)
        environment_name = environment if environment is not None else variables.get(ENVIRONMENT_VARIABLE)
        if environment_name and not _ENVIRONMENT_NAME.match(environment_name):
            raise SettingsError(
                [
                    (
                        "",
                        f"environment name {environment_name!r} must be letters, digits, '-' or '_' (it names a file)",
                    )
                ]
            )
        base_file, *environment_file = settings_files(config_path, environment=environment, env=variables)
        if base_file.is_file():
            layers.add_file(base_file)
        elif config_path is not None:
            layers.problems.append(("", f"settings file {base_file} not found"))
        for optional in environment_file:
            if optional.is_file():
                layers.add_file(optional)
            else:
                _warn_missing_environment_file(optional)
        layers.add_environment(variables)
        if overrides:
            layers.add(overrides, "overrides in code", known_sections_only=False)
        return layers

    def as_appsettings(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """The settings as an ``appsettings.json`` document (TimeSpan durations, PascalCase keys).

        Secrets stay masked unless ``reveal_secrets`` is set explicitly.
        """
        document = self.model_dump(mode="json", by_alias=True)
        if reveal_secrets:
            token = self.project_management.web_socket.auth_token
            document["ProjectManagement"]["WebSocket"]["AuthToken"] = (
                token.get_secret_value() if token is not None else None
            )
        return document


def settings_files(
    config_path: str | Path | None = None,
    *,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """The files ``AppSettings.load`` reads with these arguments, whether they exist yet or not.

    The base file first (``./appsettings.json`` when ``config_path`` is None), then the
    environment's ``{stem}.{Environment}.json`` when an environment is named. A watcher watches
    exactly these (design.md section 8: settings may be watched for changes).
    """
    variables: Mapping[str, str] = os.environ if env is None else env
    base_file = Path(config_path) if config_path is not None else Path.cwd() / DEFAULT_SETTINGS_FILE
    environment_name = environment if environment is not None else variables.get(ENVIRONMENT_VARIABLE)
    if not environment_name:
        return (base_file,)
    return base_file, base_file.with_name(f"{base_file.stem}.{environment_name}{base_file.suffix}")


# ----------------------------------------------------------------------------------------------
# Layering: canonical key trees, per-key merge with provenance, one validation pass.


_Settings = TypeVar("_Settings", bound=AppSettings)


class _Layers(Generic[_Settings]):
    """The merged key tree of every source so far, and where each value came from."""

    def __init__(self, settings_cls: type[_Settings]) -> None:
        self._settings_cls = settings_cls
        defaults = settings_cls().model_dump(by_alias=True)
        self.tree: dict[str, Any] = _canonical(settings_cls, defaults, from_env=False)
        self.provenance: dict[tuple[str, ...], str] = {}
        self.problems: list[tuple[str, str]] = []
        self.labels: list[str] = []

    def add_file(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            self.problems.append(("", f"settings file {path} cannot be read: {exc.strerror or exc}"))
            return
        except json.JSONDecodeError as exc:
            self.problems.append(
                (
                    "",
                    f"settings file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                )
            )
            return
        if not isinstance(document, dict):
            self.problems.append(("", f"settings file {path} must hold a JSON object"))
            return
        self.add(document, str(path), known_sections_only=True)

    def add_environment(self, variables: Mapping[str, str]) -> None:
        sections = {_normalise(alias) for alias in _aliases(self._settings_cls)}
        for name in sorted(variables):
            segments = name.split("__")
            if len(segments) < 2 or _normalise(segments[0]) not in sections or not all(segments):
                continue
            nested: Any = variables[name]
            for segment in reversed(segments):
                nested = {segment: nested}
            self._merge_layer(
                _canonical(self._settings_cls, nested, from_env=True), f"environment variable {name}"
            )

    def add(self, document: Mapping[str, Any], label: str, *, known_sections_only: bool) -> None:
        if known_sections_only:
            # Other top-level sections belong to the host application sharing the file (as in .NET);
            # one spelt almost like ours is a typo whose values would silently not apply.
            known = {_normalise(alias): alias for alias in _aliases(self._settings_cls)}
            sections = set(known)
            for key in document:
                near = difflib.get_close_matches(_normalise(key), sections, n=1, cutoff=_NEAR_MISS)
                if _normalise(key) not in sections and near:
                    warnings.warn(
                        f"{label}: section {key!r} is not read (did you mean {known[near[0]]!r}?)",
                        SettingsWarning,
                        stacklevel=6,
                    )
            document = {k: v for k, v in document.items() if _normalise(k) in sections}
        self._merge_layer(_canonical(self._settings_cls, document, from_env=False), label)

    def _merge_layer(self, layer: Mapping[str, Any], label: str) -> None:
        self.labels.append(label)
        _merge(self.tree, layer, label, (), self.provenance)

    def validate(self) -> _Settings:
        secrets = list(_secret_values(self._settings_cls, self.tree))
        problems = list(self.problems)
        settings: _Settings | None = None
        try:
            settings = self._settings_cls.model_validate(self.tree)
        except ValidationError as exc:
            # Translated outside this block: the pydantic error (which echoes input values, secrets
            # included) must not become the SettingsError's __context__.
            details = exc.errors(include_url=False, include_input=False)
            problems.extend(_translate(self._settings_cls, details, secrets))
        if settings is None or problems:
            sources = {
                path: source for path, _ in problems if path and (source := self._source_of(path)) is not None
            }
            raise SettingsError(problems, sources)
        _log.debug("settings loaded from %s", "; ".join(self.labels) or "code defaults")
        return settings

    def sources_of(self, document: Mapping[str, Any]) -> SettingsSources:
        by_key: dict[str, str] = {}

        def walk(node: Mapping[str, Any], prefix: str) -> None:
            for key, value in node.items():
                path = f"{prefix}:{key}" if prefix else key
                if isinstance(value, Mapping) and value:
                    walk(value, path)
                elif (source := self._source_of(path)) is not None:
                    by_key[path] = source

        walk(document, "")
        return SettingsSources(tuple(self.labels), by_key)

    def _source_of(self, key_path: str) -> str | None:
        parts = tuple(part.lower() for part in key_path.split(":"))
        while parts:
            if parts in self.provenance:
                return self.provenance[parts]
            parts = parts[:-1]
        return None


def _warn_missing_environment_file(path: Path) -> None:
    """The named environment has no file: say so, and name a file that differs only in case."""
    siblings = list(path.parent.glob("*")) if path.parent.is_dir() else []
    same_but_case = [p.name for p in siblings if p.name.lower() == path.name.lower()]
    hint = f" (did you mean {same_but_case[0]}? names are case-sensitive)" if same_but_case else ""
    warnings.warn(f"environment settings file {path} does not exist{hint}", SettingsWarning, stacklevel=5)


def _normalise(key: str) -> str:
    """Key comparison as .NET does it (case-insensitive), also accepting snake_case spellings."""
    return key.replace("_", "").lower()


def _aliases(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    wanted = _normalise(key)
    for name, field in model.model_fields.items():
        if wanted in (_normalise(name), _normalise(field.alias or name)):
            return field.alias or name, field
    return None


def _members(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:
        return get_args(annotation)
    return (annotation,)


def _submodel(field: FieldInfo) -> type[BaseModel] | None:
    for member in _members(field.annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _is_nullable(field: FieldInfo) -> bool:
    return NoneType in _members(field.annotation)


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in _members(field.annotation)


def _canonical(model: type[BaseModel], raw: Mapping[str, Any], *, from_env: bool) -> dict[str, Any]:
    """Rename known keys to their PascalCase alias; unknown keys stay for validation to report.

    Environment values are text: for a nullable option ``null`` or an empty value means None.
    """
    result: dict[str, Any] = {}
    for key, value in raw.items():
        found = _field(model, key) if isinstance(key, str) else None
        if found is None:
            _merge(result, {key: value}, "", (), {})
            continue
        alias, field = found
        submodel = _submodel(field)
        if isinstance(value, BaseModel):
            value = value.model_dump(by_alias=True)
        if submodel is not None and isinstance(value, Mapping):
            value = _canonical(submodel, value, from_env=from_env)
        elif (
            from_env
            and isinstance(value, str)
            and _is_nullable(field)
            and value.strip().lower() in _NULL_WORDS
        ):
            value = None
        _merge(result, {alias: value}, "", (), {})
    return result


def _merge(
    target: MutableMapping[str, Any],
    layer: Mapping[str, Any],
    label: str,
    path: tuple[str, ...],
    provenance: dict[tuple[str, ...], str],
) -> None:
    """Deep-merge ``layer`` into ``target``: mappings merge per key, anything else replaces."""
    for key, value in layer.items():
        existing = next((k for k in target if _same_key(k, key)), key)
        here = (*path, str(existing).lower())
        if isinstance(value, Mapping) and isinstance(target.get(existing), MutableMapping):
            _merge(target[existing], value, label, here, provenance)
            continue
        target[existing] = _plain_copy(value)
        for stale in [p for p in provenance if p[: len(here)] == here]:
            del provenance[stale]
        if label:
            provenance[here] = label


def _same_key(left: object, right: object) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return left == right


def _plain_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    return value


def _secret_values(model: type[BaseModel], tree: Mapping[str, Any]) -> Iterable[str]:
    """Every raw text found at a secret key, so that no message can ever echo it."""
    for key, value in tree.items():
        found = _field(model, key) if isinstance(key, str) else None
        if found is None:
            continue
        _, field = found
        submodel = _submodel(field)
        if submodel is not None and isinstance(value, Mapping):
            yield from _secret_values(submodel, value)
        elif _is_secret(field):
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(text, str) and text:
                yield text


def _translate(
    model: type[BaseModel], details: Sequence[ErrorDetails], secrets: Sequence[str]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for detail in details:
        loc = [str(part) for part in detail["loc"]]
        context = detail.get("ctx") or {}
        if detail["type"] == _NESTED_ERROR and "key" in context:
            loc.append(str(context["key"]))
        secret = _path_is_secret(model, loc)
        message = _describe(detail, secret=secret)
        for text in secrets:
            message = message.replace(text, _MASK)
        problems.append((":".join(loc), message))
    return problems


def _path_is_secret(model: type[BaseModel], loc: Sequence[str]) -> bool:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return False
        found = _field(current, part)
        if found is None:
            return False
        _, field = found
        if _is_secret(field):
            return True
        current = _submodel(field)
    return False


_FIXED_MESSAGES: Final = {
    "extra_forbidden": "is not a known setting (check its spelling)",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "bool_parsing": "must be true or false",
    "model_type": "must be a section (a JSON object)",
    "model_attributes_type": "must be a section (a JSON object)",
    "dict_type": "must be a JSON object",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "missing": "is required",
}


def _describe(detail: ErrorDetails, *, secret: bool) -> str:
    """A message in the ``<key> must ...`` style that never includes the offending input."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    if kind in _FIXED_MESSAGES:
        return _FIXED_MESSAGES[kind]
    if kind == RULE_ERROR:
        return detail["msg"]
    if secret:
        return "is not a valid secret value"
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    if kind == "greater_than_equal":
        return f"must be >= {context['ge']}"
    if kind == "greater_than":
        return f"must be > {context['gt']}"
    if kind == "less_than_equal":
        return f"must be <= {context['le']}"
    if kind == "less_than":
        return f"must be < {context['lt']}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {context['expected']}"
    if kind == "string_too_short":
        minimum = context.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must have at least {minimum} characters"
    return detail["msg"].replace("Input should", "must")
