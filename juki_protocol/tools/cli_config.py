"""The configuration file of ``juki node serve --config FILE`` (TOML).

Theory of operation
-------------------
The file's keys are the long option names of the command without their leading
``--``, in kebab-case as on the command line (``max-connections = 64``, ``node =
"271004"``, ``no-crl = true``); nothing else is accepted. The keys are not a list kept
by hand: they are read from the click command's own parameters, so every option of
``serve``, present and future, can be set from the file.

Each value must have the TOML type of its option: a string for a choice, a path or a
text (``"127.0.0.1:7000"``), an integer for an integer option, an integer or a float
for a float option, a boolean for a flag, and an array of those for a repeatable option
(``operator = ["AG0001=OP1"]``). A relative path is taken relative to the directory of
the file, so that a file and the keys beside it move together. Each value is then
checked by the option's own type (ranges, choices, files that must exist), so that the
file is refused as a whole, before anything starts, with one line naming the key.

The file becomes the command's ``default_map``: an option given on the command line
overrides the file's value (a repeatable option given on the command line replaces
the file's list, it is not added to it), and the file overrides the built-in default.
Errors exit with status 2, like every usage error, on one line of stderr.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from juki_protocol.cli_errors import EXIT_USAGE, CliError

F = TypeVar("F", bound=Callable[..., Any])
#: Parameters that are not settings of the node (and so not keys of the file).
NOT_IN_FILE = frozenset({"config", "help"})


class ConfigError(CliError):
    """A configuration file that cannot be used: a usage error, one line
    (``error: [usage] ...``), exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, tag="usage", exit_code=EXIT_USAGE)


def key_of(param: click.Parameter) -> str | None:
    """The file's key for ``param``: its long option name without ``--`` (None for a
    parameter that has no long option or is not a setting)."""
    if not isinstance(param, click.Option) or param.name in NOT_IN_FILE:
        return None
    for opt in param.opts:
        if opt.startswith("--"):
            return opt[2:]
    return None


def keys(command: click.Command) -> dict[str, click.Option]:
    """Every key the file of ``command`` may have, with its option."""
    found: dict[str, click.Option] = {}
    for param in command.params:
        key = key_of(param)
        if key is not None:
            assert isinstance(param, click.Option)
            found[key] = param
    return found


def _toml_type(param: click.Option) -> tuple[tuple[type, ...], str]:
    """The Python types (from tomllib) a value of ``param`` may have, and their name."""
    kind = param.type
    if param.is_flag or isinstance(kind, click.types.BoolParamType):
        return (bool,), "a boolean"
    if isinstance(kind, click.types.IntParamType):
        return (int,), "an integer"
    if isinstance(kind, click.types.FloatParamType):
        return (int, float), "a number"
    return (str,), "a string"


def _check(key: str, param: click.Option, value: object, base: Path) -> object:
    """``value`` of ``key`` if its TOML type fits ``param`` (relative paths made
    relative to ``base``), else :class:`ConfigError` naming the key."""
    types, name = _toml_type(param)

    def one(item: object, what: str) -> object:
        # bool is an int in Python; TOML's true is not an integer.
        if not isinstance(item, types) or (isinstance(item, bool) and bool not in types):
            raise ConfigError(f"{what} must be {name}, not {_toml_name(item)}")
        if isinstance(param.type, click.Path) and isinstance(item, str):
            path = Path(item).expanduser()
            return str(path if path.is_absolute() else base / path)
        return item

    if param.multiple:
        if not isinstance(value, list):
            raise ConfigError(f"key {key!r} must be an array of {name[name.index(' ') + 1:]}"
                              f"s, not {_toml_name(value)}")
        return [one(item, f"each item of key {key!r}") for item in value]
    return one(value, f"key {key!r}")


def _toml_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), f"a {type(value).__name__}")


def load(path: Path, command: click.Command,
         ctx: click.Context | None = None) -> dict[str, object]:
    """The settings of the file at ``path`` for ``command``, keyed by parameter name
    (click's ``default_map``). Raises :class:`ConfigError` naming the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from None
    known = keys(command)
    base = path.resolve().parent
    settings: dict[str, object] = {}
    for key, value in data.items():
        param = known.get(key)
        if param is None:
            hint = key.replace("_", "-")
            near = f" (did you mean {hint!r}?)" if hint in known else ""
            raise ConfigError(f"{path}: unknown key {key!r}{near}; the keys are the long "
                              f"options of '{command.name}' without '--'")
        try:
            checked = _check(key, param, value, base)
            if ctx is not None:            # the option's own checks: ranges, choices...
                param.type_cast_value(ctx, checked)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc.message}") from None
        except click.BadParameter as exc:
            raise ConfigError(f"{path}: key {key!r}: {exc.message}") from None
        assert param.name is not None
        settings[param.name] = checked
    return settings


def _use_file(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    assert ctx.command is not None
    ctx.default_map = {**(ctx.default_map or {}), **load(value, ctx.command, ctx)}


def config_option(func: F) -> F:
    """The ``--config FILE`` option: the command's settings from a TOML file (see the
    module docstring); the command line overrides it."""
    return click.option(
        "--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
        is_eager=True, expose_value=False, callback=_use_file,
        help="A TOML file of settings: keys are these long options without '--' "
        "(max-connections = 64); options given here override it.")(func)


__all__ = ["ConfigError", "config_option", "key_of", "keys", "load"]
