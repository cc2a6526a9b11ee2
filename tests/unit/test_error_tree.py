"""Every exception class the package defines is in the one drawn error tree, with its code."""

from __future__ import annotations

import ast
import asyncio
import importlib
import pkgutil
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from google.rpc import code_pb2
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as rps

import managed_redis
from managed_redis import errors
from managed_redis.api.auth import Authenticator
from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.methods import build_method_table
from managed_redis.api.status import GRPC_CODE, HTTP_STATUS

ROOT = Path(__file__).resolve().parents[2]
# Roots that only group others: never raised, so they need no code of their own.
ABSTRACT = {errors.ManagedRedisError, errors.ApiError}
# A drawn class: the root at a line's start, or after tree glyphs (``├── EngineError   INTERNAL``).
DRAWN = re.compile(r"^(?:[ │]*[├└]── | {0,4})([A-Z]\w+)(?= {2,}| \()", re.MULTILINE)


def _defined_exceptions() -> list[type[BaseException]]:
    for found in pkgutil.walk_packages(managed_redis.__path__, "managed_redis."):
        if not found.name.endswith("__main__"):  # running it parses the command line
            importlib.import_module(found.name)
    seen: dict[type[BaseException], None] = {}
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                pending.append(sub)
                if sub.__module__.split(".")[0] == "managed_redis":
                    seen[sub] = None
    return sorted(seen, key=lambda c: (c.__module__, c.__qualname__))


DEFINED = _defined_exceptions()


def _drawn(text: str) -> set[str]:
    return set(DRAWN.findall(text))


def test_the_walk_finds_exceptions_all_over_the_package() -> None:
    modules = {cls.__module__ for cls in DEFINED}
    assert {"managed_redis.errors", "managed_redis.engine.errors", "managed_redis.vault"} <= modules


@pytest.mark.parametrize("cls", DEFINED, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_exception_class_is_in_the_tree_with_a_code(cls: type[BaseException]) -> None:
    assert issubclass(cls, errors.ManagedRedisError), f"{cls.__qualname__} is outside the tree (errors.py)"
    code = cls.code
    assert code in HTTP_STATUS and code in GRPC_CODE, f"{cls.__qualname__}: {code} is no google.rpc code"
    if cls not in ABSTRACT:
        assert code not in (code_pb2.OK, code_pb2.UNKNOWN), f"{cls.__qualname__} has no code of its own"
    if not issubclass(cls, errors.ApiError) and cls not in ABSTRACT:
        assert code == code_pb2.INTERNAL, f"{cls.__qualname__} is not an answer, so it can only be INTERNAL"


@pytest.mark.parametrize("cls", DEFINED, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_exception_class_is_drawn(cls: type[BaseException]) -> None:
    assert errors.__doc__ is not None
    drawing = errors.__doc__
    if cls.__name__.startswith("_"):
        assert f"``{cls.__name__}``" in drawing, f"{cls.__name__} is not among the drawn private signals"
    else:
        assert cls.__name__ in _drawn(drawing), f"{cls.__name__} is missing from the drawing in errors.py"
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    assert cls.__name__ in architecture, f"{cls.__name__} is missing from docs/architecture.md"


def test_every_drawn_class_exists() -> None:
    assert errors.__doc__ is not None
    names = {cls.__name__ for cls in DEFINED}
    assert _drawn(errors.__doc__) - {"private"} <= names
    assert _drawn((ROOT / "docs" / "architecture.md").read_text()) - {"private"} <= names


@pytest.mark.parametrize(
    "cls", [c for c in DEFINED if issubclass(c, errors.InternalError)], ids=lambda c: c.__qualname__
)
def test_an_internal_error_that_escapes_a_call_is_internal_without_its_text(
    cls: type[errors.InternalError], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: rps.ListResourcePresetsRequest, caller: object) -> None:
        raise cls("secret detail /srv/mredis/secret.key")

    table = build_method_table({})
    method = replace(next(m for m in table if m.name == "ResourcePresetService.List"), implementation=broken)
    dispatcher = Dispatcher(Authenticator("admin-token", tmp_path / "tokens.json"), ThreadPoolExecutor(1))
    headers = {"authorization": "Bearer admin-token"}
    with pytest.raises(errors.Internal) as caught:
        asyncio.run(dispatcher.call(method, rps.ListResourcePresetsRequest(), headers, "req-7"))
    dispatcher.executor.shutdown()
    assert caught.value.code == code_pb2.INTERNAL
    assert "req-7" in caught.value.message and "secret detail" not in caught.value.message
    assert "secret detail" in caplog.text


def _public_functions_that_raise(package: str) -> list[str]:
    """``path:function`` of each public function of ``package`` (module level or in a public
    class) whose own body has a ``raise`` and whose docstring says nothing of raising."""
    found = []
    for path in sorted((ROOT / "src" / "managed_redis" / package).rglob("*.py")):
        stack: list[tuple[str, list[ast.stmt]]] = [("", ast.parse(path.read_text()).body)]
        while stack:
            prefix, body = stack.pop()
            for node in body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    stack.append((f"{prefix}{node.name}.", node.body))
                elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    raises = any(isinstance(inner, ast.Raise) for inner in ast.walk(node))
                    if raises and "raise" not in (ast.get_docstring(node) or "").lower():
                        found.append(f"{path.relative_to(ROOT)}:{prefix}{node.name}")
    return found


@pytest.mark.parametrize("package", ["engine", "store", "backup_store"])
def test_public_functions_that_raise_say_what_they_raise(package: str) -> None:
    assert _public_functions_that_raise(package) == []
