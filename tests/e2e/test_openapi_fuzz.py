"""E2E: the served ``/openapi.json`` drives Schemathesis against the running server, and ``/docs``
shows it with Swagger UI's files from the package.

Schemathesis generates requests for every operation of the document and checks each answer:
no 5xx (the server's UNIMPLEMENTED, 501, aside: a method the document lists but this server
does not build), every answer in the content type and schema the document gives for its
status (the response message, or a google.rpc.Status). Budget: ``EXAMPLES`` per operation
(about 60 operations, a few hundred requests) against a server with no worker, so an
accepted mutation only queues an operation and starts no process. The reads (GET) are aimed
at a real cluster, its operation and its folder, so their answers carry real resources for
the schema checks; mutations keep the generated ids and bodies (NOT_FOUND, INVALID_ARGUMENT,
FAILED_PRECONDITION, each a Status the document describes).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from managed_redis.api.methods import build_method_table
from managed_redis.api.transcoding import Router
from tests.support.clusters import FOLDER, create_body
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server

# One server for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("openapi-fuzz")


def no_server_failure(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' 5xx check, but for UNIMPLEMENTED (501): what this server does not build."""
    if response.status_code == 501 and response.json().get("code") == 12:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_failure, response_schema_conformance, content_type_conformance]


@dataclass
class Target:
    server: RunningServer
    cluster_id: str
    operation_id: str
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.admin_token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    network = host_network()
    try:
        env = {"MREDIS_HOST_NETWORK": network}
        with running_server(tmp_path_factory.mktemp("openapi"), "--embedded-worker", "false", env=env) as server:
            created = server.rest("POST", "/managed-redis/v1/clusters", json=create_body("openapi-fuzz", hosts=1))
            operation = json_object(created)
            assert created.status_code == 200, created.text
            yield Target(server, operation["metadata"]["clusterId"], operation["id"])
    finally:
        kill_all(network)


def _aim(case: Any, target: Target) -> None:
    """Point a read at the real cluster, its operation and its folder."""
    real = {"cluster_id": target.cluster_id, "resource_id": target.cluster_id, "operation_id": target.operation_id}
    for name in list(case.path_parameters or {}):
        if name in real:
            case.path_parameters[name] = real[name]
    if case.query and "folderId" in case.query:
        case.query["folderId"] = FOLDER
    if case.path.endswith(":stream_logs"):
        # Without toTime the stream follows the log for good; with one past, it ends.
        case.query = {**(case.query or {}), "toTime": "2026-01-01T00:00:00Z"}


def _examine(operation: Any, mode: GenerationMode, examples: int, target: Target) -> str | None:
    """Run ``examples`` requests of one operation generated in ``mode`` (valid or invalid by
    the document); the first failure's report, if any."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the budget goes to more operations
        database=None,
    )
    def examine(case: Any) -> None:
        if case.method == "GET":
            _aim(case, target)
        response = case.call_and_validate(headers=target.auth, checks=CHECKS, timeout=30)
        target.statuses[response.status_code] += 1

    try:
        examine()
    except Unsatisfiable:  # nothing the document forbids (a bare string path parameter): no negative case
        return None
    except Exception as failure:  # Schemathesis' failure groups and check failures alike
        return f"{operation.label} ({mode.value}): {str(failure)[:3000]}"
    return None


def test_every_operation_answers_as_the_document_says(target: Target, fuzz_examples: int) -> None:
    api = schemathesis.openapi.from_url(target.server.rest_url + "/openapi.json")
    results = list(api.get_all_operations())
    assert not [result.err() for result in results if isinstance(result, Err)], "operations Schemathesis cannot read"
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(Router(build_method_table({})).routes)
    started = time.monotonic()
    failures = [
        report
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := _examine(operation, mode, fuzz_examples, target))
    ]
    print(f"{len(operations)} operations x 2 x {fuzz_examples} examples in {time.monotonic() - started:.1f} s:")
    print(f"answers by HTTP status {sorted(target.statuses.items())}")
    assert not failures, "\n\n".join(failures)


def test_docs_page_and_every_asset_it_loads(target: Target) -> None:
    base = target.server.rest_url
    page = requests.get(base + "/docs", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/swagger-ui-bundle.js" in assets and "/docs/swagger-ui.css" in assets
    for asset in assets:
        answer = requests.get(base + asset, timeout=30)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 0, asset
        assert not asset.startswith("http"), "nothing from the internet"
    initializer = requests.get(base + "/docs/swagger-initializer.js", timeout=30).text
    assert "/docs/openapi-3.0.json" in initializer and "validatorUrl: null" in initializer
    shown = requests.get(base + "/docs/openapi-3.0.json", timeout=30).json()
    served = requests.get(base + "/openapi.json", timeout=30).json()
    assert served["openapi"] == "3.1.0" and shown["openapi"] == "3.0.3"
    assert shown["paths"] == served["paths"]


def test_the_document_needs_no_token_and_the_api_still_does(target: Target) -> None:
    answer = requests.get(target.server.rest_url + "/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert "/managed-redis/v1/clusters" in answer.json()["paths"]
    refused = requests.get(target.server.rest_url + f"/managed-redis/v1/clusters?folderId={FOLDER}", timeout=30)
    assert refused.status_code == 401
