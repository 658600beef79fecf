"""The ``juki`` command line. Command names and options are a public contract.

Errors go to stderr with a non-zero exit status and never a traceback: bad input
raises a :class:`~juki_protocol.errors.JukiError` (or ``ValueError``/``OSError``),
which :func:`main` prints as ``error: [code NAME] message`` (the tags and exit
statuses: :mod:`juki_protocol.cli_errors`).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from juki_protocol import __version__
from juki_protocol.cli_errors import ErrorHandlingGroup
from juki_protocol.errors import ErrorCode, JukiError

F = TypeVar("F", bound=Callable[..., Any])

PROFILE_CHOICE = click.Choice(["current", "2002"])


class JukiGroup(ErrorHandlingGroup):
    """The ``juki`` group: errors as one line ``error: [TAG] message`` on stderr
    (:mod:`juki_protocol.cli_errors`), exit 1, usage errors 2, Ctrl-C 130."""


@click.group(cls=JukiGroup)
@click.version_option(__version__, prog_name="juki")
def main() -> None:
    """Juki protocol tools: identifiers, codec, fixtures, vectors, spec."""


def _profile(text: str) -> Any:
    from juki_protocol.messages import Profile

    return Profile.parse(text)


# juki code ---------------------------------------------------------------------------

@main.group()
def code() -> None:
    """Check and generate resident codes, local government codes, individual numbers."""


_KINDS = {"resident": 11, "local-gov": 6, "individual": 12}


def _validator(kind: str) -> Callable[[object, str], str]:
    from juki_protocol import identifiers as ids

    return {"resident": ids.validate_resident_code,
            "local-gov": ids.validate_local_gov_code,
            "individual": ids.validate_individual_number}[kind]


@code.command("check")
@click.argument("codes", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(list(_KINDS)), default=None,
              help="Treat every CODE as this kind (default: by length 11/6/12).")
def code_check(codes: tuple[str, ...], kind: str | None) -> None:
    """Validate CODES; exit 0 if all are valid, 1 otherwise, saying which and why."""
    by_len = {v: k for k, v in _KINDS.items()}
    bad = 0
    for c in codes:
        k = kind or by_len.get(len(c))
        if k is None:
            click.echo(f"{c}: invalid: length {len(c)} is not that of a resident code (11),"
                       f" local government code (6) or individual number (12)")
            bad += 1
            continue
        field = {"resident": "resident_code", "local-gov": "local_gov_code",
                 "individual": "individual_number"}[k]
        try:
            _validator(k)(c, field)
        except JukiError as exc:
            click.echo(f"{c}: invalid {k} code: {exc}")
            bad += 1
        else:
            extra = ""
            if k == "local-gov":
                from juki_protocol.identifiers import is_prefecture_code, prefecture_of
                from juki_protocol.prefectures import prefecture_name
                extra = (f" (prefecture {prefecture_name(c)}"
                         f"{'' if is_prefecture_code(c) else ', ' + prefecture_of(c)})")
            click.echo(f"{c}: valid {k} code{extra}")
    sys.exit(1 if bad else 0)


@code.command("new")
@click.option("--kind", type=click.Choice(list(_KINDS)), required=True)
@click.option("--count", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--seed", default=None, help="Seed for reproducible output (default: random).")
def code_new(kind: str, count: int, seed: str | None) -> None:
    """Generate COUNT valid codes of KIND, one per line."""
    from juki_protocol import identifiers as ids
    from juki_protocol.fixtures.synth import new_local_gov_code

    rng: random.Random = random.Random(f"code:{kind}:{seed}") if seed is not None \
        else random.SystemRandom()
    make = {"resident": ids.new_resident_code, "local-gov": new_local_gov_code,
            "individual": ids.new_individual_number}[kind]
    out = sys.stdout
    for _ in range(count):
        out.write(make(rng) + "\n")


# juki encode / decode / types --------------------------------------------------------

@main.command("encode")
@click.option("--type", "type_name", default=None,
              help="Message type (see `juki types`); default: the \"type\" of `juki "
                   "decode` output.")
@click.option("--in", "infile", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="JSON input file (default: stdin): a message, or what `juki decode` "
                   "prints.")
@click.option("--out", "outfile", type=click.Path(dir_okay=False, allow_dash=True),
              default="-", help="DER output file (default: stdout).")
@click.option("--profile", type=PROFILE_CHOICE, default="current", show_default=True)
@click.option("--hex", "as_hex", is_flag=True, help="Write hex text instead of binary.")
@click.option("--jer", "as_jer", is_flag=True,
              help="The value is JER (X.697) rather than the JSON form (spec/json.md "
                   "section 3).")
def encode_cmd(type_name: str | None, infile: str, outfile: str, profile: str,
               as_hex: bool, as_jer: bool) -> None:
    """Encode a JSON message of TYPE to DER.

    The input is either the message's JSON value, or the output of `juki decode` as it
    is (an object with "type" and "value"), so that `juki decode X | juki encode`
    gives X again (`juki decode --jer X | juki encode --jer` too)."""
    from juki_protocol.codec import codec, jer

    text = sys.stdin.read() if infile == "-" else Path(infile).read_text(encoding="utf-8")
    type_name, text = _unwrap_decoded(type_name, text)
    msg = jer.from_jer_text(type_name, text) if as_jer \
        else codec.from_json_text(type_name, text)
    data = codec.encode(msg, _profile(profile))
    payload = (data.hex() + "\n").encode() if as_hex else data
    if outfile == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    else:
        Path(outfile).write_bytes(payload)


def _unwrap_decoded(type_name: str | None, text: str) -> tuple[str, str]:
    """The type and the JSON value of an ``encode`` input: `juki decode` output is
    ``{"type": T, "value": V}``, a bare message is V (and needs ``--type``)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None                   # from_json_text reports it with its code
    if isinstance(obj, dict) and set(obj) <= {"type", "value", "unknown_extensions"} \
            and isinstance(obj.get("type"), str) and isinstance(obj.get("value"), dict):
        if type_name is not None and type_name != obj["type"]:
            raise JukiError(f"--type {type_name} but the input is a decoded "
                            f"{obj['type']}", code=ErrorCode.UNKNOWN_MESSAGE_TYPE)
        if obj.get("unknown_extensions"):
            raise JukiError("the decoded message carries unknown extensions, which "
                            "encode cannot reproduce", code=ErrorCode.INVALID_JSON)
        return obj["type"], json.dumps(obj["value"], ensure_ascii=False)
    if type_name is None:
        raise click.UsageError("give --type, or feed the output of `juki decode`")
    return type_name, text


@main.command("decode")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, exists=True))
@click.option("--type", "type_name", default=None,
              help="Expected type (default: from the APPLICATION tag).")
@click.option("--profile", type=PROFILE_CHOICE, default=None,
              help="Also check the profile's rules.")
@click.option("--hex", "from_hex", is_flag=True, help="The input is hex text.")
@click.option("--jer", "as_jer", is_flag=True,
              help="Print the value as JER (X.697) rather than the JSON form.")
def decode_cmd(file: str, type_name: str | None, profile: str | None, from_hex: bool,
               as_jer: bool) -> None:
    """Decode a DER message (strictly) and print it as JSON (its "value" in the JSON
    form of spec/json.md, or with --jer in JER)."""
    from juki_protocol.codec import codec, jer

    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    if from_hex:
        try:
            data = bytes.fromhex(data.decode("ascii", "replace").strip())
        except ValueError as exc:
            raise JukiError(f"not hex text: {exc}", code=ErrorCode.DER_MALFORMED) from None
    decoded = codec.decode_full(data, type_name, _profile(profile) if profile else None)
    value = jer.to_jer(decoded.message) if as_jer else codec.to_json(decoded.message)
    out: dict[str, Any] = {"type": decoded.type_name, "value": value}
    if decoded.unknown_extensions:
        out["unknown_extensions"] = decoded.unknown_extensions
    click.echo(json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True))


@main.command("types")
def types_cmd() -> None:
    """List the message types with their APPLICATION tag and article."""
    from juki_protocol.codec.schema import APPLICATION_TAGS
    from juki_protocol.messages import ARTICLES, MESSAGE_TYPES

    for name in MESSAGE_TYPES:
        click.echo(f"{name:26} [APPLICATION {APPLICATION_TAGS[name]:2}]  {ARTICLES[name]}")


# juki fixtures -----------------------------------------------------------------------

@main.group()
def fixtures() -> None:
    """Deterministic synthetic fixtures for tests."""


@fixtures.command("residents")
@click.option("--count", type=click.IntRange(0, 1_000_000), default=10, show_default=True)
@click.option("--seed", default="0", show_default=True)
@click.option("--municipality", "municipalities", multiple=True,
              help="Restrict to these local government codes (repeatable).")
def fixtures_residents(count: int, seed: str, municipalities: tuple[str, ...]) -> None:
    """Synthetic residents as JSON lines."""
    from juki_protocol.fixtures.synth import generate_residents

    people = generate_residents(count, seed, municipalities=list(municipalities) or None)
    out = sys.stdout
    for r in people:
        out.write(json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True) + "\n")


@fixtures.command("messages")
@click.option("--seed", default="0", show_default=True)
@click.option("--out", "outdir", type=click.Path(file_okay=False), required=True)
@click.option("--profile", type=PROFILE_CHOICE, default="current", show_default=True)
def fixtures_messages(seed: str, outdir: str, profile: str) -> None:
    """One valid DER and its JSON per message type, into OUT."""
    from juki_protocol.codec import codec
    from juki_protocol.fixtures.samples import example
    from juki_protocol.messages import MESSAGE_TYPES

    prof = _profile(profile)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name in MESSAGE_TYPES:
        msg = example(name, seed, prof)
        (out / f"{name}.der").write_bytes(codec.encode(msg, prof))
        (out / f"{name}.json").write_text(codec.dumps(msg) + "\n", encoding="utf-8")
    click.echo(f"wrote {2 * len(MESSAGE_TYPES)} files to {out}")


# juki vectors ------------------------------------------------------------------------

@main.group()
def vectors() -> None:
    """Generate and verify the golden test vectors."""


@vectors.command("generate")
@click.option("--out", "outdir", type=click.Path(file_okay=False), default="vectors",
              show_default=True)
@click.option("--seed", default=None, help="Seed (default: the published one).")
def vectors_generate(outdir: str, seed: str | None) -> None:
    """Write the vector files, their schema and index.json into OUT."""
    from juki_protocol.tools.vectors import vector_set

    paths = vector_set.generate_all(Path(outdir), seed)
    click.echo(f"wrote {len(paths)} files to {outdir}")


@vectors.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, exists=True), required=False)
def vectors_verify(directory: str | None) -> None:
    """Check this implementation against the vectors in DIRECTORY."""
    from juki_protocol.resources import vectors_dir
    from juki_protocol.tools.vectors import vector_set

    report = vector_set.verify_all(Path(directory) if directory else vectors_dir())
    for line in report.failures:
        click.echo(f"FAIL {line}")
    click.echo(f"{report.passed} passed, {len(report.failures)} failed "
               f"({report.files} files)")
    sys.exit(1 if report.failures or report.passed == 0 else 0)


# juki spec ---------------------------------------------------------------------------

@main.group()
def spec() -> None:
    """Generated parts of the specification (requirements list, error registry)."""


@spec.command("generate")
@click.option("--dir", "spec_path", type=click.Path(file_okay=False), default=None,
              help="The spec directory (default: the checkout's or installed one).")
def spec_generate(spec_path: str | None) -> None:
    """Write spec/requirements.json, spec/errors.md and spec/errors.json."""
    from juki_protocol.tools import spec_tools

    for path in spec_tools.generate(Path(spec_path) if spec_path else None):
        click.echo(f"wrote {path}")


@spec.command("check")
@click.option("--dir", "spec_path", type=click.Path(file_okay=False), default=None)
def spec_check(spec_path: str | None) -> None:
    """Exit 1 if the generated spec files differ from what generate would write."""
    from juki_protocol.tools import spec_tools

    drift = spec_tools.check(Path(spec_path) if spec_path else None)
    for line in drift:
        click.echo(line)
    if drift:
        sys.exit(1)
    click.echo("spec: generated files are up to date")


def _register_subcommands() -> None:
    """Command groups that live beside the layers they drive."""
    from juki_protocol.tools.capture.capture import capture
    from juki_protocol.tools.cli_node import audit_group, network_group, node_group
    from juki_protocol.tools.cli_pki import envelope_group, pki_group
    from juki_protocol.tools.cli_simulate import simulate

    fixtures.add_command(capture)
    main.add_command(node_group)
    main.add_command(network_group)
    main.add_command(audit_group)
    main.add_command(simulate)
    main.add_command(pki_group)
    main.add_command(envelope_group)


_register_subcommands()


def run() -> None:  # pragma: no cover - console entry for `python -m`
    main()


if __name__ == "__main__":  # pragma: no cover
    main()
