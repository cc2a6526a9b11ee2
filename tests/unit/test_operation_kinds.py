"""The catalogue of operation kinds: each kind spelt once in the product, and declared whole."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from managed_redis.operations.registry import HEAL_DURING, KINDS, by_name
from managed_redis.operations.worker import AnyKind

SRC = Path(__file__).resolve().parents[2] / "src"


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in SRC.rglob("*.py")}


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_kind_is_spelt_in_one_place(kind: AnyKind) -> None:
    places = [
        (str(path.relative_to(SRC)), text.count(quoted))
        for path, text in _sources().items()
        for quoted in (f'"{kind.name}"', f"'{kind.name}'")
        if quoted in text
    ]
    assert len(places) == 1 and places[0][1] == 1, places


def test_names_are_unique() -> None:
    assert len(by_name()) == len(KINDS)


def test_a_kind_locking_nothing_changes_no_cluster_status() -> None:
    for kind in KINDS:
        if not kind.locks_cluster:
            assert kind.change is None, kind.name


def test_heal_during_is_read_from_the_declarations() -> None:
    assert {"cluster.backup", "cluster.backup.automated", "cluster.set_access_bindings"} == HEAL_DURING


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_the_handler_answers_the_declared_response(kind: AnyKind) -> None:
    returned = inspect.signature(kind.run, eval_str=True).return_annotation
    assert returned is kind.response_type
