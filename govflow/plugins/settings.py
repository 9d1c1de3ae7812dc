"""Typed plugin settings: declared as a ``msgspec.Struct``, read from the environment.

A plugin declares its settings with the ``govflow_settings`` hook::

    class HelloSettings(msgspec.Struct, frozen=True, kw_only=True):
        greeting: str = "Hello"
        timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
        api_token: Secret | None = None                       # masked everywhere
        base_url: Annotated[str | None, Env("HELLO_URL")] = None  # also read from HELLO_URL

    @hookimpl
    def govflow_settings() -> type[msgspec.Struct]:
        return HelloSettings

Field ``timeout`` of plugin ``hello`` is read from ``GOVFLOW_HELLO_TIMEOUT``; the older form
``GOVFLOW_PLUGIN_HELLO_TIMEOUT`` is still read, and the names an ``Env`` marker adds after both
(``Env("HELLO_TIMEOUT_MS", divide_by=1000)``: a number in another unit, divided when read).
Values are converted to the field's type (``true``/``false``, ``yes``/``no``, ``on``/``off``,
``1``/``0`` for booleans; comma-separated items for lists); an empty variable counts as unset.
Every problem is one line naming its variable (:class:`PluginSettingsError`). A ``Secret``
shows as ``***`` in ``repr``, ``str``, logs and ``govflow plugins list``; ``.reveal()`` gives
the value.
"""

from __future__ import annotations

import hmac
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar, final

import msgspec
from msgspec import inspect as mi

from govflow.plugins.errors import PluginError

PREFIX: Final = "GOVFLOW_"
LEGACY_PREFIX: Final = "GOVFLOW_PLUGIN_"
MASK: Final = "***"

S = TypeVar("S", bound=msgspec.Struct)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@final
class Secret:
    """A secret setting (a password, an API token): ``***`` wherever it is shown.

    ``reveal()`` returns the value; use it only where the value is sent (an ``Authorization``
    header, an SMTP login). Two secrets are equal when their values are.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


@final
class Env:
    """``Annotated[T, Env("JIRA_BASE_URL")]``: also read the field from these variables (after
    ``GOVFLOW_<PLUGIN>_<FIELD>`` and ``GOVFLOW_PLUGIN_<PLUGIN>_<FIELD>``).

    ``Env("JIRA_TIMEOUT_MS", divide_by=1000)`` reads a number in another unit: the value is
    divided by ``divide_by`` (``JIRA_TIMEOUT_MS=2500`` gives ``2.5`` seconds). Variables of one
    field that give different values, units considered, are a problem naming both.
    """

    __slots__ = ("divide_by", "names")

    def __init__(self, *names: str, divide_by: float | None = None) -> None:
        if divide_by is not None and not divide_by > 0:
            raise ValueError(f"Env{names!r}: divide_by must be a positive number")
        self.names = names
        self.divide_by = divide_by

    def __repr__(self) -> str:
        unit = f", divide_by={self.divide_by!r}" if self.divide_by is not None else ""
        return f"Env({', '.join(map(repr, self.names))}{unit})"


class NoSettings(msgspec.Struct, frozen=True):
    """The settings of a plugin that declares none."""


class PluginSettingsError(PluginError):
    """A plugin's settings are missing or malformed.

    :ivar plugin: the plugin's name.
    :ivar problems: one line per problem, each naming its variable.
    """

    def __init__(self, plugin: str, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.plugin = plugin
        self.problems = problems


def env_name(plugin: str) -> str:
    """Return the upper-case form of a plugin name used in variable names."""
    return plugin.upper().replace("-", "_").replace(".", "_")


class SettingInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One declared setting, as ``govflow plugins list`` shows it (secrets masked).

    :ivar name: the field name.
    :ivar variable: the environment variable it is read from.
    :ivar also: other variables read for it, in order (the older prefix, historic names).
    :ivar type: the expected type, in words.
    :ivar required: whether it has no default.
    :ivar secret: whether its value is masked.
    :ivar default: the default, as text (``***`` for a secret); ``None`` when required.
    :ivar value: the value this process sees, as text (``***`` for a set secret; ``None``
        when unset).
    """

    name: str
    variable: str
    also: list[str]
    type: str
    required: bool
    secret: bool
    default: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    annotation: Any
    info: mi.Field
    variables: tuple[str, ...]
    divisors: Mapping[str, float]
    """The variables read in another unit, with what their value is divided by."""

    @property
    def kind(self) -> mi.Type:
        return _unwrap(self.info.type)


def _unwrap(kind: mi.Type) -> mi.Type:
    """The type without constraints and without ``| None``."""
    while True:
        if isinstance(kind, mi.Metadata):
            kind = kind.type
        elif isinstance(kind, mi.UnionType):
            others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
            if len(others) != 1:
                return kind
            kind = others[0]
        else:
            return kind


def _is_secret(kind: mi.Type) -> bool:
    """A ``Secret``, or a collection or union holding one (``list[Secret]``: a list of
    secrets is masked as a whole)."""
    kind = _unwrap(kind)
    if isinstance(kind, mi.CustomType):
        return kind.cls is Secret
    if isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return _is_secret(kind.item_type)
    if isinstance(kind, mi.TupleType):
        return any(_is_secret(t) for t in kind.item_types)
    if isinstance(kind, mi.DictType):
        return _is_secret(kind.key_type) or _is_secret(kind.value_type)
    if isinstance(kind, mi.UnionType):
        return any(_is_secret(t) for t in kind.types)
    return False


def _fields(plugin: str, struct: type[msgspec.Struct]) -> list[_Field]:
    hints = typing.get_type_hints(struct, include_extras=True)
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    upper = env_name(plugin)
    fields = []
    for item in info.fields:
        annotation = hints[item.name]
        markers = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Env)]
        aliases = [name for marker in markers for name in marker.names]
        divisors = {
            name: marker.divide_by
            for marker in markers
            if marker.divide_by is not None
            for name in marker.names
        }
        suffix = env_name(item.encode_name)
        variables = (f"{PREFIX}{upper}_{suffix}", f"{LEGACY_PREFIX}{upper}_{suffix}", *aliases)
        fields.append(_Field(item.name, annotation, item, variables, divisors))
    return fields


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    if kind is Secret and isinstance(value, Secret):
        return value
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read a {kind.__name__} from {type(value).__name__}")


_SEQUENCES = (mi.ListType, mi.TupleType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)


def _prepare(kind: mi.Type, raw: Any) -> Any:
    """Text as the field's type expects it: booleans in words, lists split on commas."""
    if not isinstance(raw, str):
        return raw
    if isinstance(kind, mi.BoolType):
        word = raw.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else raw
    if isinstance(
        kind, mi.ListType | mi.TupleType | mi.VarTupleType | mi.SetType | mi.FrozenSetType
    ):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(kind, mi.IntType | mi.FloatType):
        return raw.strip()
    return raw


def _message(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text.removesuffix(" - at `$`").replace(" | null`", "`")


def _convert(struct: type[S], plugin: str, raw: Mapping[str, tuple[str, Any]]) -> S:
    """Build ``struct`` from ``raw`` (field name -> (where it came from, value)).

    :raises PluginSettingsError: one line per problem.
    """
    fields = {f.name: f for f in _fields(plugin, struct)}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, (where, value) in raw.items():
        item = fields[name]
        try:
            values[item.info.encode_name] = msgspec.convert(
                _prepare(item.kind, value),
                item.annotation,
                strict=False,
                dec_hook=_dec_hook,
            )
        except msgspec.ValidationError as exc:
            if isinstance(item.kind, mi.BoolType):
                problems.append(f"{where}: must be true or false (yes/no, on/off, 1/0)")
            else:
                problems.append(f"{where}: {_message(exc)}")
    for item in fields.values():
        if item.info.required and item.name not in raw:
            problems.append(f"{item.variables[0]}: required by plugin {plugin!r}")
    if not problems:
        try:
            return msgspec.convert(values, struct, strict=False, dec_hook=_dec_hook)
        except (msgspec.ValidationError, ValueError, TypeError) as exc:
            problems.append(f"plugin {plugin!r} settings: {_message(exc)}")
    raise PluginSettingsError(plugin, problems)


def read_settings(plugin: str, struct: type[S], env: Mapping[str, str]) -> S:
    """Read ``plugin``'s settings ``struct`` from ``env``.

    :param plugin: the plugin's name (its entry point name).
    :param struct: the Struct the plugin declared.
    :param env: the environment (``plugin_environment()`` at the edge).
    :raises PluginSettingsError: one line per problem, each naming its variable; two variables
        of one field set to different values is a problem too.
    """
    raw: dict[str, tuple[str, Any]] = {}
    problems: list[str] = []
    for item in _fields(plugin, struct):
        found = [(name, env[name]) for name in item.variables if env.get(name, "").strip()]
        if not found:
            continue
        where, value = found[0]
        other = next((name for name, v in found[1:] if not _same(item, found[0], (name, v))), None)
        if other is not None:
            problems.append(f"{where}: {other} is set to another value; set only one")
        divisor = item.divisors.get(where)
        if divisor is None:
            raw[item.name] = (where, value)
            continue
        try:
            raw[item.name] = (f"{where} (divided by {divisor:g})", _number(item, where, value))
        except ValueError:
            problems.append(f"{where}: must be a number")
    try:
        settings = _convert(struct, plugin, raw)
    except PluginSettingsError as exc:
        raise PluginSettingsError(plugin, problems + exc.problems) from None
    if problems:
        raise PluginSettingsError(plugin, problems)
    return settings


def _number(item: _Field, name: str, text: str) -> float:
    """The value of variable ``name`` as a number in the field's unit.

    :raises ValueError: it is not a number.
    """
    return float(text.strip()) / item.divisors.get(name, 1)


def _same(item: _Field, first: tuple[str, str], second: tuple[str, str]) -> bool:
    """Whether two variables of ``item`` give the same value (as numbers when one of them is
    in another unit)."""
    if first[0] not in item.divisors and second[0] not in item.divisors:
        return first[1] == second[1]
    try:
        return _number(item, *first) == _number(item, *second)
    except ValueError:
        return False


def make_settings(struct: type[S], plugin: str = "plugin", **values: Any) -> S:
    """Build settings as the host would from variables with these values (tests, the kit).

    ``make_settings(NotificationSettings, smtp_host="localhost", smtp_port="2525")``: text is
    converted like an environment variable's, other values are checked against the types.

    :raises PluginSettingsError: a value does not fit (the problem names ``GOVFLOW_<PLUGIN>_*``).
    """
    fields = {f.name: f for f in _fields(plugin, struct)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TypeError(f"{struct.__name__} has no setting(s) {', '.join(unknown)}")
    raw = {name: (fields[name].variables[0], value) for name, value in values.items()}
    return _convert(struct, plugin, raw)


def _text(kind: mi.Type) -> str:
    if isinstance(kind, mi.Metadata):
        return _text(kind.type)
    if isinstance(kind, mi.UnionType):
        return " | ".join(_text(t) for t in kind.types if not isinstance(t, mi.NoneType))
    if isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return f"list of {_text(kind.item_type)} (comma-separated)"
    if isinstance(kind, mi.LiteralType):
        return "one of " + ", ".join(str(v) for v in kind.values)
    if isinstance(kind, mi.CustomType):
        return "secret" if kind.cls is Secret else kind.cls.__name__.lower()
    names = {
        mi.StrType: "text",
        mi.IntType: "integer",
        mi.FloatType: "number",
        mi.BoolType: "boolean",
        mi.NoneType: "unset",
    }
    return names.get(type(kind), type(kind).__name__.removesuffix("Type").lower())


def _shown(value: Any) -> str | None:
    if value is None or value is msgspec.NODEFAULT:
        return None
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(item) for item in value) or None
    return str(value)


def describe_settings(
    plugin: str, struct: type[msgspec.Struct], current: msgspec.Struct | None = None
) -> list[SettingInfo]:
    """Describe ``struct``'s settings for ``plugin``, with the values of ``current`` (masked)."""
    infos = []
    for item in _fields(plugin, struct):
        secret = _is_secret(item.kind)
        default: Any = item.info.default
        if item.info.default_factory is not msgspec.NODEFAULT:
            default = item.info.default_factory()
        value = getattr(current, item.name, None) if current is not None else None
        infos.append(
            SettingInfo(
                name=item.name,
                variable=item.variables[0],
                also=list(item.variables[1:]),
                type=_text(item.info.type),
                required=item.info.required,
                secret=secret,
                default=(MASK if secret and default else _shown(default)),
                value=(MASK if secret and value else _shown(value)),
            )
        )
    return infos


def plugin_environment(env: Mapping[str, str], env_file: str | Path = ".env") -> dict[str, str]:
    """The variables plugins read: ``env_file`` (if it exists) overridden by ``env``, as the
    core settings read them."""
    path = Path(env_file)
    values: dict[str, str] = {}
    if path.is_file():
        from dotenv import dotenv_values

        values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    return {**values, **env}


@dataclass(frozen=True, slots=True)
class PluginSettings(Mapping[str, msgspec.Struct]):
    """Each plugin's typed settings by plugin name (``NoSettings()`` for one that declares
    none or whose settings are broken)."""

    by_plugin: Mapping[str, msgspec.Struct] = field(default_factory=dict)

    def for_plugin(self, plugin: str) -> Any:
        """Return the settings of ``plugin`` (``NoSettings()`` when it has none)."""
        return self.by_plugin.get(plugin, NoSettings())

    def __getitem__(self, plugin: str) -> msgspec.Struct:
        return self.by_plugin[plugin]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_plugin)

    def __len__(self) -> int:
        return len(self.by_plugin)

    @classmethod
    def of(cls, items: Iterable[tuple[str, msgspec.Struct]]) -> PluginSettings:
        """Collect ``(plugin, settings)`` pairs."""
        return cls(dict(items))
