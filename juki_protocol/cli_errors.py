"""One way for every command line to fail: ``juki`` and ``juki-conformance``.

Every error is one line on stderr, ``error: [TAG] message``, where TAG is:

* ``NNNN NAME``: a registered code (:class:`~juki_protocol.errors.ErrorCode`), for a
  :class:`~juki_protocol.errors.JukiError`: the input broke a protocol rule;
* ``usage``: the command line itself is wrong (an unknown option, a missing or
  unreadable file named by an option, a bad value); click's usage errors end here too,
  with a pointer to ``--help`` instead of click's own three lines;
* ``io``: a file could not be read or written (the operating system's reason);
* ``input``: the command refused what it was given for a reason that has no wire code
  (a file that is not a node database, a CA directory without a CA, a value our own
  code refuses with ``ValueError``);
* ``harness``: ``juki-conformance`` could not run the system under test;
* ``interrupted``: Ctrl-C (SIGINT);
* ``internal``: a bug: the exception's type and message, and how to see the traceback
  (``--debug`` or ``JUKI_DEBUG=1``).

Exit statuses: 0 success; 1 failure (``juki``; in ``juki-conformance``, failing cases);
2 usage error (and in ``juki-conformance`` every error, as its exit statuses document);
130 interrupted. A closed pipe on standard output (``juki ... | head``) ends the
command quietly, with status 1 and nothing on stderr.

Python's own messages and tracebacks never reach the user unless asked for.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from juki_protocol.errors import JukiError

#: The one format of an error line, for tests and for tools that read stderr.
ERROR_LINE = r"^error: \[(\d{4} [A-Z0-9_]+|usage|io|input|harness|interrupted|internal)\] \S"

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """A failure with no wire code, reported as ``error: [tag] message``."""

    def __init__(self, message: str, *, tag: str = "input",
                 exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.tag = tag
        self.exit_code = exit_code


def error_line(tag: str, message: str) -> str:
    """``error: [tag] message`` on one line (line breaks in ``message`` become spaces)."""
    return f"error: [{tag}] {' '.join(message.split())}"


def report(tag: str, message: str) -> None:
    """Write one error line on stderr."""
    click.echo(error_line(tag, message), err=True)


def os_error_text(exc: OSError) -> str:
    """``path: reason`` of an OSError, without Python's ``[Errno n]`` decoration."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def _debug_requested() -> bool:
    return os.environ.get("JUKI_DEBUG", "") not in ("", "0")


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        os.environ["JUKI_DEBUG"] = "1"


def _quiet_broken_pipe() -> NoReturn:
    """Standard output was closed by its reader: say nothing, exit 1 (and let no
    flush at interpreter exit complain)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_FAILURE)


class ErrorHandlingGroup(click.Group):
    """A click group whose :meth:`main` maps every failure to one ``error: [...]`` line
    and an exit status (module docstring). Subgroups need nothing: the top group's
    ``main`` sees every exception. ``error_exit`` is the status of an error that is not
    a usage error (1 for ``juki``, 2 for ``juki-conformance``)."""

    error_exit = EXIT_FAILURE
    #: The tag of a ``ValueError`` (``juki-conformance`` raises it for bad usage).
    value_error_tag = "input"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(click.Option(
            ["--debug"], is_flag=True, expose_value=False, is_eager=True,
            callback=_set_debug,
            help="On an internal error, print the traceback (also: JUKI_DEBUG=1)."))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
            sys.stdout.flush()
        except SystemExit:
            raise
        except BaseException as exc:  # the edge: every failure becomes one line
            self._fail(exc)
        sys.exit(rv if isinstance(rv, int) else 0)

    def _fail(self, exc: BaseException) -> NoReturn:
        if _debug_requested() and not isinstance(exc, click.ClickException | click.Abort
                                                 | KeyboardInterrupt):
            traceback.print_exception(exc, file=sys.stderr)
        if isinstance(exc, click.exceptions.NoArgsIsHelpError):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.UsageError):
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            report("usage", exc.format_message() + hint)
            sys.exit(EXIT_USAGE)
        if isinstance(exc, CliError):
            report(exc.tag, exc.format_message())
            sys.exit(exc.exit_code if exc.exit_code != EXIT_FAILURE else self.error_exit)
        if isinstance(exc, click.ClickException):
            report("input", exc.format_message())
            sys.exit(self.error_exit)
        if isinstance(exc, click.Abort | KeyboardInterrupt):
            if isinstance(exc, KeyboardInterrupt) or isinstance(exc.__cause__,
                                                                 KeyboardInterrupt):
                report("interrupted", "stopped by Ctrl-C (SIGINT)")
                sys.exit(EXIT_INTERRUPTED)
            report("input", "aborted (end of input)")
            sys.exit(self.error_exit)
        if isinstance(exc, JukiError):
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(self.error_exit)
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            _quiet_broken_pipe()
        if isinstance(exc, OSError):
            report("io", os_error_text(exc))
            sys.exit(self.error_exit)
        if isinstance(exc, UnicodeError):
            report("input", f"not UTF-8 text: {exc}")
            sys.exit(self.error_exit)
        if isinstance(exc, ValueError):
            # Our own code raises ValueError for a refused value, with a message for
            # people (``juki-conformance``'s option checks among them).
            report(self.value_error_tag, str(exc) or type(exc).__name__)
            sys.exit(self.error_exit)
        if isinstance(exc, Exception):
            report("internal", f"{type(exc).__name__}: {exc}; rerun with --debug "
                               f"(or JUKI_DEBUG=1) for the traceback, and report it")
            sys.exit(self.error_exit)
        raise exc


__all__ = ["ERROR_LINE", "CliError", "ErrorHandlingGroup", "error_line", "os_error_text",
           "report"]
