# PYTHON_ARGCOMPLETE_OK
"""The ``mredis`` command: ``serve`` runs the API, ``worker`` runs operations only; the client
commands (``cluster``, ``backup``, ``user``, ...) are in ``client_cli``.

The options are made from the settings catalogue (``settings.SETTINGS``): each setting that
has a flag is an option of both commands, its help naming its ``MREDIS_*`` variable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from managed_redis import __version__, client_cli
from managed_redis.settings import SETTINGS, SettingsError, SettingSpec, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mredis", description="A self-hosted Managed Service for Redis API.")
    parser.add_argument("--version", action="version", version=f"mredis {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "serve the REST and gRPC API (and run operations, unless --embedded-worker false)"),
        ("worker", "run operations from the shared database, without serving the API"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--config", type=Path, help="TOML file of settings (MREDIS_CONFIG)")
        for spec in SETTINGS:
            if spec.flag:
                command.add_argument(spec.flag, dest=spec.name, help=_help(spec))
    client_cli.add_commands(commands)
    return parser


def _help(spec: SettingSpec) -> str:
    """The setting's help as argparse shows it: without Markdown's backquotes, ``%`` escaped."""
    return f"{spec.help} ({' or '.join(spec.env_names)})".replace("`", "").replace("%", "%%")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mredis`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status, 2
    when a setting cannot be read (argparse itself exits 2 on unknown options)."""
    parser = _parser()
    if "_ARGCOMPLETE" in os.environ:  # asked by the shell's completion (argcomplete's protocol)
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    if args.command in client_cli.GROUPS:
        return client_cli.run(args)
    flags = {spec.name: getattr(args, spec.name, None) for spec in SETTINGS}
    try:
        settings = load_settings(flags=flags, config_file=args.config)
    except SettingsError as exc:
        print(f"mredis: {exc}", file=sys.stderr)
        return 2
    from managed_redis import app  # imported late: --help and --version stay fast

    # Everything written from here on (data, logs, the processes' own files) is ours alone.
    os.umask(0o077)

    if args.command == "serve":
        return app.serve(settings)
    return app.run_worker(settings)
