"""Change freezes with the official SDK over gRPC+TLS: Create, Get, List, GetLimits and
Terminate of a real cluster's freezes, each change waited for as an operation typed as the
API declares; the refusals (bad range, overlap, gap, a past freeze, unknown cluster, no
role) come back with the gRPC codes api.md §10.4 gives; and one round trip over plain REST.

The server runs on the real clock, so freezes are placed relative to now: one starting now
(ACTIVE), one ten days ahead (SCHEDULED)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import status_pb2
from yandex.cloud.maintenance.v2 import change_freeze_pb2 as cf
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1.change_freeze_service_pb2_grpc import ChangeFreezeServiceStub

from tests.support.clusters import FOLDER, wait_operation
from tests.support.sdk_operations import create_two_host_cluster, wait_result
from tests.support.server import RunningServer, json_object, write_tokens

CLUSTER_TYPE = "managed-redis.cluster"
FOLDER_TYPE = "resource-manager.folder"
DAY_S = 86_400
YEARLY_LIMIT_S = 30 * DAY_S
TOKENS = {"viewer": "freeze-viewer-token-0123", "outsider": "freeze-outsider-token-01"}


@pytest.fixture(scope="module")
def cluster(cluster_server: RunningServer) -> Iterator[cluster_pb2.Cluster]:
    write_tokens(
        cluster_server.data_dir,
        [
            {"subject": "viewer", "token": TOKENS["viewer"], "roles": {FOLDER: ["managed-redis.viewer"]}},
            {
                "subject": "outsider",
                "token": TOKENS["outsider"],
                "roles": {"b1gelsewhere00000001": ["managed-redis.admin"]},
            },
        ],
    )
    yield create_two_host_cluster(cluster_server.sdk(), "sdk-freezes")


@pytest.fixture(scope="module")
def anchor(cluster_server: RunningServer, cluster: cluster_pb2.Cluster) -> dt.datetime:
    """The start of a freeze of two days, 100 days ahead, that refused freezes run into."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    create(cluster_server.sdk(), cluster.id, start, start + dt.timedelta(days=2))
    return start


def stamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def seconds_this_year(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> int:
    first = dt.datetime(now.year, 1, 1, tzinfo=dt.UTC)
    after = dt.datetime(now.year + 1, 1, 1, tzinfo=dt.UTC)
    return max(0, int((min(end, after) - max(start, first)).total_seconds()))


def create(sdk: Any, cluster_id: str, start: dt.datetime, end: dt.datetime, reason: str = "") -> cf.ChangeFreeze:
    freezes = sdk.client(ChangeFreezeServiceStub)
    request = cf.CreateChangeFreezeRequest(
        resource_id=cluster_id, start_at=stamp(start), end_at=stamp(end), reason=reason
    )
    done = wait_result(
        sdk, freezes.Create(request), response_type=cf.ChangeFreeze, meta_type=cf.CreateChangeFreezeMetadata
    )
    assert done.meta == cf.CreateChangeFreezeMetadata(resource_id=cluster_id)
    return done.response


def by_folder_pages(freezes: ChangeFreezeServiceStub) -> list[cf.ChangeFreeze]:
    """Every freeze of the folder, listed one a page."""
    found: list[cf.ChangeFreeze] = []
    token = ""
    while True:
        page = freezes.List(
            cf.ListChangeFreezesRequest(
                resource_path=[cf.Resource(id=FOLDER, type=FOLDER_TYPE)], page_size=1, page_token=token
            )
        )
        found.extend(page.change_freezes)
        token = page.next_page_token
        if not token:
            return found


def error_codes(error: grpc.RpcError) -> list[str]:
    """The ChangeFreezeErrorCode types among the google.rpc.Status details the error carries."""
    trailers = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    codes = []
    for detail in status.details:
        code = cf.ChangeFreezeErrorCode()
        if detail.Unpack(code):
            codes.append(cf.ChangeFreezeErrorCode.Type.Name(code.type))
    return codes


def refused(call: Any, request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value


def test_change_freezes_through_the_sdk(cluster_server: RunningServer, cluster: cluster_pb2.Cluster) -> None:
    sdk = cluster_server.sdk()
    freezes = sdk.client(ChangeFreezeServiceStub)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    active = create(sdk, cluster.id, now, now + dt.timedelta(hours=2), "release week")
    later_start, later_end = now + dt.timedelta(days=10), now + dt.timedelta(days=12)
    scheduled = create(sdk, cluster.id, later_start, later_end)

    assert active.status == cf.ChangeFreeze.ACTIVE and scheduled.status == cf.ChangeFreeze.SCHEDULED
    assert [(r.id, r.type) for r in active.resource_path] == [(cluster.id, CLUSTER_TYPE), (FOLDER, FOLDER_TYPE)]
    assert active.duration_seconds == 7200 and active.reason == "release week" and active.created_by
    assert scheduled.start_at.ToDatetime(dt.UTC) == later_start and scheduled.duration_seconds == 2 * DAY_S
    assert freezes.Get(cf.GetChangeFreezeRequest(change_freeze_id=scheduled.id)) == scheduled

    by_cluster = [cf.Resource(id=cluster.id, type=CLUSTER_TYPE)]
    listed = freezes.List(cf.ListChangeFreezesRequest(resource_path=by_cluster))
    ids = [f.id for f in listed.change_freezes]  # other tests of this module add theirs
    assert ids.index(active.id) < ids.index(scheduled.id) and listed.next_page_token == ""
    only_active = freezes.List(cf.ListChangeFreezesRequest(resource_path=by_cluster, filter='status = "ACTIVE"'))
    assert [f.id for f in only_active.change_freezes] == [active.id]
    assert [f.id for f in by_folder_pages(freezes)] == ids  # one freeze a page, none twice

    limits = freezes.GetLimits(cf.GetChangeFreezeLimitsRequest(resource_id=cluster.id))
    assert limits.constraints == cf.ChangeFreezeConstraints(
        yearly_limit_seconds=YEARLY_LIMIT_S,
        max_period_seconds=14 * DAY_S,
        min_gap_seconds=7 * DAY_S,
        max_advance_seconds=365 * DAY_S,
    )
    in_force = (cf.ChangeFreeze.ACTIVE, cf.ChangeFreeze.SCHEDULED)
    used = sum(
        seconds_this_year(f.start_at.ToDatetime(dt.UTC), f.end_at.ToDatetime(dt.UTC), now)
        for f in listed.change_freezes
        if f.status in in_force
    )
    assert (limits.used_seconds_this_year, limits.remaining_seconds_this_year) == (used, YEARLY_LIMIT_S - used)

    cancelled = wait_result(
        sdk,
        freezes.Terminate(cf.TerminateChangeFreezeRequest(change_freeze_id=scheduled.id)),
        response_type=cf.TerminateChangeFreezeResponse,
        meta_type=cf.TerminateChangeFreezeMetadata,
    )
    assert cancelled.meta == cf.TerminateChangeFreezeMetadata(change_freeze_id=scheduled.id)
    assert cancelled.response.change_freeze.status == cf.ChangeFreeze.CANCELLED
    assert (cancelled.response.used_seconds, cancelled.response.returned_seconds) == (0, 2 * DAY_S)
    ended = wait_result(
        sdk,
        freezes.Terminate(cf.TerminateChangeFreezeRequest(change_freeze_id=active.id)),
        response_type=cf.TerminateChangeFreezeResponse,
        meta_type=cf.TerminateChangeFreezeMetadata,
    ).response
    assert ended.change_freeze.status == cf.ChangeFreeze.COMPLETED and ended.change_freeze.updated_by
    assert ended.returned_seconds > 0 and ended.used_seconds + ended.returned_seconds == 7200
    assert freezes.Get(cf.GetChangeFreezeRequest(change_freeze_id=active.id)).status == cf.ChangeFreeze.COMPLETED
    after = freezes.GetLimits(cf.GetChangeFreezeLimitsRequest(resource_id=cluster.id))
    returned = seconds_this_year(later_start, later_end, now) + 7200 - ended.used_seconds
    assert after.used_seconds_this_year == used - returned  # what was not used is given back
    again = refused(freezes.Terminate, cf.TerminateChangeFreezeRequest(change_freeze_id=scheduled.id))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "CANNOT_DELETE_PAST_PERIOD" in str(again.details())


@pytest.mark.parametrize(
    ("start_days", "end_days", "code", "says", "kind"),
    [
        (200, 199, grpc.StatusCode.INVALID_ARGUMENT, "end_at", "INVALID_TIME_RANGE"),  # ends before it starts
        # starts in the past (100 days before the anchor)
        (-1, 1, grpc.StatusCode.INVALID_ARGUMENT, "start_at", "START_TIME_IN_PAST"),
        (400, 401, grpc.StatusCode.INVALID_ARGUMENT, "start_at", "START_TIME_TOO_FAR"),
        (200, 220, grpc.StatusCode.INVALID_ARGUMENT, "end_at", "EXCEEDS_MAX_DURATION"),  # longer than 14 days
        (101, 103, grpc.StatusCode.FAILED_PRECONDITION, "OVERLAPPING_CHANGE_FREEZE", "OVERLAPPING_CHANGE_FREEZE"),
        (105, 106, grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_GAP", "INSUFFICIENT_GAP"),
    ],
)
def test_refused_freezes_change_nothing(
    cluster_server: RunningServer,
    cluster: cluster_pb2.Cluster,
    anchor: dt.datetime,
    start_days: int,
    end_days: int,
    code: grpc.StatusCode,
    says: str,
    kind: str,
) -> None:
    sdk = cluster_server.sdk()
    freezes = sdk.client(ChangeFreezeServiceStub)
    now = anchor - dt.timedelta(days=100)
    by_cluster = [cf.Resource(id=cluster.id, type=CLUSTER_TYPE)]
    before = freezes.List(cf.ListChangeFreezesRequest(resource_path=by_cluster))
    request = cf.CreateChangeFreezeRequest(
        resource_id=cluster.id,
        start_at=stamp(now + dt.timedelta(days=start_days)),
        end_at=stamp(now + dt.timedelta(days=end_days)),
    )
    error = refused(freezes.Create, request)
    assert error.code() == code and says in str(error.details())
    assert error_codes(error) == [kind]
    assert freezes.List(cf.ListChangeFreezesRequest(resource_path=by_cluster)) == before


def test_unknown_things_and_missing_roles(cluster_server: RunningServer, cluster: cluster_pb2.Cluster) -> None:
    now = dt.datetime.now(dt.UTC)

    def request(resource_id: str) -> cf.CreateChangeFreezeRequest:
        start = now + dt.timedelta(days=300)
        return cf.CreateChangeFreezeRequest(
            resource_id=resource_id, start_at=stamp(start), end_at=stamp(start + dt.timedelta(days=1))
        )

    admin = cluster_server.sdk().client(ChangeFreezeServiceStub)
    missing = refused(admin.Create, request("c9qnosuchcluster0001"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert refused(admin.Get, cf.GetChangeFreezeRequest(change_freeze_id="c9qnosuchfreeze00001")).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    bad_filter = cf.ListChangeFreezesRequest(resource_path=[cf.Resource(id=cluster.id)], filter="reason = 'x'")
    error = refused(admin.List, bad_filter)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "filter" in str(error.details())

    viewer = cluster_server.sdk(TOKENS["viewer"]).client(ChangeFreezeServiceStub)
    denied = refused(viewer.Create, request(cluster.id))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert viewer.GetLimits(cf.GetChangeFreezeLimitsRequest(resource_id=cluster.id)).resource_id == cluster.id
    outsider = cluster_server.sdk(TOKENS["outsider"]).client(ChangeFreezeServiceStub)
    hidden = refused(outsider.Create, request(cluster.id))
    assert hidden.code() == grpc.StatusCode.NOT_FOUND  # not even told the cluster exists
    listing = refused(outsider.List, cf.ListChangeFreezesRequest(resource_path=[cf.Resource(id=cluster.id)]))
    assert listing.code() == grpc.StatusCode.NOT_FOUND


def test_a_change_freeze_over_rest(cluster_server: RunningServer, cluster: cluster_pb2.Cluster) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = now + dt.timedelta(days=200), now + dt.timedelta(days=201)
    rfc3339 = "%Y-%m-%dT%H:%M:%SZ"
    body = {
        "resourceId": cluster.id,
        "startAt": start.strftime(rfc3339),
        "endAt": end.strftime(rfc3339),
        "reason": "REST",
    }
    operation = json_object(cluster_server.rest("POST", "/managed-redis/v1/changeFreezes", json=body))
    assert operation["metadata"]["resourceId"] == cluster.id
    done = wait_operation(cluster_server, operation)
    freeze = done["response"]
    assert freeze["status"] == "SCHEDULED" and freeze["durationSeconds"] == str(DAY_S) and freeze["reason"] == "REST"
    got = json_object(cluster_server.rest("GET", f"/managed-redis/v1/changeFreezes/{freeze['id']}"))
    assert got["id"] == freeze["id"] and got["resourcePath"][0] == {"id": cluster.id, "type": CLUSTER_TYPE}
    query = f"resourcePath.id={cluster.id}&resourcePath.type={CLUSTER_TYPE}&filter=status%3D%22SCHEDULED%22"
    listed = json_object(cluster_server.rest("GET", f"/managed-redis/v1/changeFreezes?{query}"))
    assert freeze["id"] in [f["id"] for f in listed["changeFreezes"]]
    assert all(f["status"] == "SCHEDULED" for f in listed["changeFreezes"])
    limits = json_object(cluster_server.rest("GET", f"/managed-redis/v1/changeFreezeLimits?resourceId={cluster.id}"))
    assert limits["resourceId"] == cluster.id and limits["constraints"]["maxPeriodSeconds"] == str(14 * DAY_S)
    terminated = wait_operation(
        cluster_server,
        json_object(cluster_server.rest("POST", f"/managed-redis/v1/changeFreezes/{freeze['id']}:terminate", json={})),
    )
    assert terminated["response"]["changeFreeze"]["status"] == "CANCELLED"
    assert terminated["response"]["returnedSeconds"] == str(DAY_S)
    bad = cluster_server.rest("GET", "/managed-redis/v1/changeFreezes?resourcePath.type=nonsense&resourcePath.id=x")
    assert bad.status_code == 400 and "resource_path[0].type" in bad.text
