"""What deploy/kubernetes/ asks of whoever installs it holds: the control plane's image is a
versioned tag (the package's version) that a node pulls only when it lacks it, the same one
the README and the Dockerfile build; every Secret its manifests read is one the README's
install commands create, and no comment credits a script that does not; the build context
(.dockerignore) leaves out the virtualenv, history and caches but keeps every tracked file.
The manifests' schema validity is test_kubernetes_manifests.py's."""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"managed-redis:{VERSION}"


def documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(DEPLOY.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def containers() -> Iterator[dict[str, Any]]:
    for doc in documents():
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def test_the_control_plane_image_is_the_package_version_pulled_only_if_missing() -> None:
    ours = [c for c in containers() if c["image"].split(":")[0].endswith("managed-redis")]
    assert len(ours) == 2  # the CA init container and mredis serve
    for container in ours:
        assert (container["image"], container.get("imagePullPolicy")) == (IMAGE, "IfNotPresent"), container["name"]
    for container in containers():
        assert re.search(r":[\w.-]+$", container["image"]) and not container["image"].endswith(":latest")


def test_the_readme_and_the_dockerfile_build_the_image_the_manifests_name() -> None:
    built = re.findall(r"docker build -f deploy/kubernetes/Dockerfile -t (\S+) \.", (ROOT / "README.md").read_text())
    assert built == [IMAGE]
    assert re.findall(r"-t (\S+) \.", (DEPLOY / "Dockerfile").read_text()) == [IMAGE]


def secrets_read() -> set[str]:
    names = set()
    for doc in documents():
        text = yaml.safe_dump(doc)
        names |= set(re.findall(r"secretKeyRef:\s*\n\s*key: \S+\n\s*name: (\S+)", text))
        names |= set(re.findall(r"secretName: (\S+)", text))
    return names


def test_every_secret_the_manifests_read_is_created_by_the_readmes_install() -> None:
    readme = (ROOT / "README.md").read_text()
    created = set(re.findall(r"create secret generic (\S+)", readme[readme.index("## On Kubernetes") :]))
    assert secrets_read() == {"mredis-settings", "mredis-ca", "mredis-postgres"}
    assert secrets_read() <= created


def test_no_comment_credits_the_e2e_script_with_secrets_it_does_not_make() -> None:
    script_makes_secrets = "create secret" in (ROOT / "scripts" / "e2e-kubernetes").read_text()
    for path in DEPLOY.iterdir():
        comments = " ".join(line for line in path.read_text().splitlines() if line.lstrip().startswith("#"))
        credited = re.search(r"e2e-kubernetes[^.]*\b(makes|creates|create|make)\b[^.]*Secret", comments)
        credited = credited or re.search(r"e2e-kubernetes (makes|creates)", comments)
        assert script_makes_secrets or not credited, f"{path.name}: {credited}"


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for patterns without ``!``: a pattern matches a path from the context's
    root (``**`` any number of directories, ``*`` and ``?`` within one), and a matched
    directory takes everything under it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            return True
    return False


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "node_modules/playwright/index.js",
        "src/managed_redis/console/node_modules/x.js",
        "src/managed_redis/__pycache__/app.cpython-311.pyc",
        "tests/unit/__pycache__/conftest.cpython-311.pyc",
        "tmp/scratch.txt",
        ".mypy_cache/3.11/x.json",
    ],
)
def test_the_build_context_leaves_out(path: str) -> None:
    assert ignored(path, dockerignore_patterns())


def test_the_build_context_keeps_every_tracked_file() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert "pyproject.toml" in tracked and "deploy/kubernetes/Dockerfile" in tracked
    patterns = dockerignore_patterns()
    assert [path for path in tracked if ignored(path, patterns)] == []
