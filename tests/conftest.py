"""Options of the whole suite."""

from __future__ import annotations

import os

import pytest

# Examples per route and per gRPC method in tests/e2e/test_fuzz_api.py: small enough for
# `make test`; `--fuzz-examples 200` (or MREDIS_FUZZ_EXAMPLES=200) is a long fuzz run.
DEFAULT_FUZZ_EXAMPLES = 4


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=int(os.environ.get("MREDIS_FUZZ_EXAMPLES", DEFAULT_FUZZ_EXAMPLES)),
        help="hostile requests per REST route and per gRPC method in the API fuzz test",
    )


@pytest.fixture(scope="session")
def fuzz_examples(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fuzz-examples"))
