"""The RPC table answers for every RPC of the served services: built, or not yet (and then
UNIMPLEMENTED), never both and never neither; the README's list is the table's."""

from __future__ import annotations

from pathlib import Path

import pytest

from managed_redis.api.methods import build_method_table
from managed_redis.services.rpc_table import RPC_TABLE, SECTION, ServiceRpcs

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("rpcs", RPC_TABLE, ids=lambda rpcs: rpcs.name)
def test_every_rpc_of_a_served_service_is_built_or_not_yet_and_nothing_else(rpcs: ServiceRpcs) -> None:
    official = [method.name for method in rpcs.service.methods]
    listed = [*rpcs.implemented, *rpcs.not_yet]
    assert sorted(listed) == sorted(official), f"{rpcs.name}: the table and the descriptor disagree"
    assert not set(rpcs.implemented) & set(rpcs.not_yet)


def test_each_service_is_served_once() -> None:
    names = [rpcs.service.full_name for rpcs in RPC_TABLE]
    assert len(names) == len(set(names))


def test_a_not_yet_rpc_answers_unimplemented_and_a_built_one_is_bound() -> None:
    services = {rpcs.service.full_name: object() for rpcs in RPC_TABLE}
    for method in build_method_table(services):
        rpcs = next(r for r in RPC_TABLE if r.service is method.service)
        assert (method.implementation is not None) == (method.descriptor.name in rpcs.implemented), method.name


def test_the_readme_lists_what_is_not_implemented_yet() -> None:
    readme = README.read_text()
    assert SECTION.written_into(readme) == readme, "the README's RPC table has drifted: run `make readme`"
