"""The README's Kubernetes install commands work as written: the PostgreSQL password the
database URL holds is the one PostgreSQL was given (it was generated inline and never shown,
leaving a ``<password>`` to fill that nobody knew), Python runs from the checkout's
virtualenv (a system ``python`` may be missing or lack the package), and the CA command
makes the two files the next command puts in a Secret."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
ROOT = README.parent


def install_block() -> str:
    text = README.read_text()
    section = text[text.index("## On Kubernetes") :]
    section = section[section.index("**Install.**") :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "no sh block under **Install.**"
    return match.group(1)


def test_no_placeholder_is_left_to_fill() -> None:
    assert not re.search(r"<[a-z -]+>", install_block()), install_block()


def test_the_database_url_holds_the_password_postgres_was_given() -> None:
    block = install_block()
    given = re.search(r"secret generic mredis-postgres --from-literal=password=(\S+)", block)
    used = re.search(r"database-url=postgresql://mredis:([^@\s]+)@", block)
    assert given and used
    assert given.group(1) == used.group(1)
    assert given.group(1).startswith("$"), "the password must be one the reader can use twice"


def test_python_runs_from_the_checkouts_virtualenv() -> None:
    block = install_block()
    assert re.findall(r"\$\(python |&& python ", block) == []
    assert block.count(".venv/bin/python -c") == 2


def test_the_ca_command_makes_the_files_of_the_ca_secret(tmp_path: Path) -> None:
    line = next(line for line in install_block().splitlines() if "CertificateAuthority" in line)
    line = line.replace(".venv/bin/python", str(ROOT / ".venv/bin/python"))
    subprocess.run(["sh", "-c", line], cwd=tmp_path, check=True, timeout=60)
    secret = next(line for line in install_block().splitlines() if "secret generic mredis-ca" in line)
    for path in re.findall(r"--from-file=(\S+)", secret):
        assert (tmp_path / path).read_text().startswith("-----BEGIN"), path
