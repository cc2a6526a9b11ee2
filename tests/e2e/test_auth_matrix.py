"""Who may do what, on both transports: viewer, editor, admin of the cluster's folder, the
admin of another folder, and a caller with no token. A caller who may not see a resource
is told it does not exist (as for a missing one); one who sees it but lacks the right for
the action is denied; Move needs rights on both folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeAlias, TypeVar

import grpc
import pytest
import requests
from google.protobuf.message import Message
from yandex.cloud.access import access_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.operation import operation_service_pb2 as ops
from yandex.cloud.operation.operation_pb2 import Operation
from yandex.cloud.operation.operation_service_pb2_grpc import OperationServiceStub

from tests.support.clusters import FOLDER, create_body, create_cluster, wait_operation
from tests.support.processes import kill_all
from tests.support.server import RunningServer, host_network, json_object, running_server, write_tokens

OTHER_FOLDER = "b1gotherfolder000001"
TOKENS = {
    "viewer": "viewer-token-0123456789",
    "editor": "editor-token-0123456789",
    "admin": "folder-admin-token-0123",
    "outsider": "other-admin-token-0123",
    "mover": "both-folders-editor-0123",
}
# principal -> (may read, may change, may manage access) in FOLDER
RIGHTS = {
    "viewer": (True, False, False),
    "editor": (True, True, False),
    "admin": (True, True, True),
    "outsider": (False, False, False),
    "nobody": (False, False, False),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str, str]]:
    data_dir = tmp_path_factory.mktemp("auth")
    write_tokens(
        data_dir,
        [
            {"subject": "viewer", "token": TOKENS["viewer"], "roles": {FOLDER: ["managed-redis.viewer"]}},
            {"subject": "editor", "token": TOKENS["editor"], "roles": {FOLDER: ["managed-redis.editor"]}},
            {"subject": "admin", "token": TOKENS["admin"], "roles": {FOLDER: ["managed-redis.admin"]}},
            {"subject": "outsider", "token": TOKENS["outsider"], "roles": {OTHER_FOLDER: ["managed-redis.admin"]}},
            {
                "subject": "mover",
                "token": TOKENS["mover"],
                "roles": {FOLDER: ["managed-redis.editor"], OTHER_FOLDER: ["managed-redis.editor"]},
            },
        ],
    )
    network = host_network()
    try:
        with running_server(data_dir, env={"MREDIS_HOST_NETWORK": network}) as server:
            cluster = create_cluster(server, "auth-matrix", hosts=1)
            operation_id = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/operations").json()[
                "operations"
            ][0]["id"]
            yield server, cluster["id"], operation_id
    finally:
        kill_all(network)


ResultT = TypeVar("ResultT")
# What a gRPC call gave: its reply, or the error it raised.
GrpcResult: TypeAlias = Message | grpc.RpcError


class Transport(Protocol[ResultT]):
    """The calls test_rights makes, over REST or gRPC; ResultT is what one call gives."""

    def read(self, cluster_id: str, operation_id: str) -> list[ResultT]: ...
    def change(self, cluster_id: str, description: str) -> ResultT: ...
    def create_invalid(self) -> ResultT: ...
    def bind(self, cluster_id: str) -> ResultT: ...
    def outcome(self, result: ResultT) -> str: ...
    def operation(self, result: ResultT) -> dict[str, Any]: ...


class Rest:
    def __init__(self, server: RunningServer, who: str) -> None:
        self.server, self.token = server, TOKENS.get(who)

    def read(self, cluster_id: str, operation_id: str) -> list[requests.Response]:
        return [
            self.server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}", token=self.token),
            self.server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=self.token),
            self.server.rest("GET", f"/operations/{operation_id}", token=self.token),
            self.server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}:listAccessBindings", token=self.token),
        ]

    def change(self, cluster_id: str, description: str) -> requests.Response:
        return self.server.rest(
            "PATCH",
            f"/managed-redis/v1/clusters/{cluster_id}",
            token=self.token,
            json={"updateMask": "description", "description": description},
        )

    def create_invalid(self) -> requests.Response:
        body = create_body("auth-never")
        body["configSpec"]["resources"]["resourcePresetId"] = "no-such-preset"
        return self.server.rest("POST", "/managed-redis/v1/clusters", token=self.token, json=body)

    def bind(self, cluster_id: str) -> requests.Response:
        return self.server.rest(
            "POST",
            f"/managed-redis/v1/clusters/{cluster_id}:setAccessBindings",
            token=self.token,
            json={"accessBindings": []},
        )

    @staticmethod
    def outcome(response: requests.Response) -> str:
        return {200: "ok", 400: "invalid", 401: "unauthenticated", 403: "denied", 404: "missing"}[response.status_code]

    @staticmethod
    def operation(response: requests.Response) -> dict[str, Any]:
        return json_object(response)


class Grpc:
    def __init__(self, server: RunningServer, who: str) -> None:
        self.server = server
        channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
        self.clusters, self.operations = ClusterServiceStub(channel), OperationServiceStub(channel)
        token = TOKENS.get(who)
        self.metadata = [("authorization", f"Bearer {token}")] if token else []

    def _call(self, method: Callable[..., Message], request: Message) -> GrpcResult:
        try:
            return method(request, metadata=self.metadata)
        except grpc.RpcError as error:
            return error

    def read(self, cluster_id: str, operation_id: str) -> list[GrpcResult]:
        return [
            self._call(self.clusters.List, cs.ListClustersRequest(folder_id=FOLDER)),
            self._call(self.clusters.Get, cs.GetClusterRequest(cluster_id=cluster_id)),
            self._call(self.operations.Get, ops.GetOperationRequest(operation_id=operation_id)),
            self._call(self.clusters.ListAccessBindings, access_pb2.ListAccessBindingsRequest(resource_id=cluster_id)),
        ]

    def change(self, cluster_id: str, description: str) -> GrpcResult:
        request = cs.UpdateClusterRequest(cluster_id=cluster_id, description=description)
        request.update_mask.paths.append("description")
        return self._call(self.clusters.Update, request)

    def create_invalid(self) -> GrpcResult:
        from google.protobuf import json_format

        request = json_format.ParseDict(create_body("auth-never"), cs.CreateClusterRequest())
        request.config_spec.resources.resource_preset_id = "no-such-preset"
        return self._call(self.clusters.Create, request)

    def bind(self, cluster_id: str) -> GrpcResult:
        return self._call(self.clusters.SetAccessBindings, access_pb2.SetAccessBindingsRequest(resource_id=cluster_id))

    @staticmethod
    def outcome(result: GrpcResult) -> str:
        if not isinstance(result, grpc.RpcError):
            return "ok"
        outcomes: dict[grpc.StatusCode, str] = {
            grpc.StatusCode.INVALID_ARGUMENT: "invalid",
            grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
            grpc.StatusCode.PERMISSION_DENIED: "denied",
            grpc.StatusCode.NOT_FOUND: "missing",
        }
        return outcomes[result.code()]

    @staticmethod
    def operation(result: GrpcResult) -> dict[str, Any]:
        assert isinstance(result, Operation), result
        return {"id": result.id}


def refusal(who: str, may_read: bool = True) -> str:
    """How a caller is refused an action on the cluster: one who cannot even see it is told
    it does not exist; one who can see it is denied."""
    if who == "nobody":
        return "unauthenticated"
    return "denied" if may_read else "missing"


@pytest.mark.parametrize("transport", [Rest, Grpc], ids=["rest", "grpc"])
@pytest.mark.parametrize("who", list(RIGHTS))
def test_rights(setup: tuple[RunningServer, str, str], transport: type[Rest] | type[Grpc], who: str) -> None:
    server, cluster_id, operation_id = setup
    may_read, may_change, may_manage = RIGHTS[who]
    # Any: each transport has its own kind of result, which only its own methods read.
    client: Transport[Any] = transport(server, who)

    # List names the folder the caller asked for: denied. The cluster, its operation and its
    # bindings are out of sight: missing.
    expected_reads = ["ok"] * 4 if may_read else [refusal(who)] + [refusal(who, may_read)] * 3
    assert [client.outcome(r) for r in client.read(cluster_id, operation_id)] == expected_reads

    changed = client.change(cluster_id, f"changed by {who} over {transport.__name__}")
    assert client.outcome(changed) == ("ok" if may_change else refusal(who, may_read))
    if may_change:
        done = wait_operation(server, client.operation(changed))
        assert "error" not in done

    # Permission is checked before the request's meaning: the allowed get its real error.
    assert client.outcome(client.create_invalid()) == ("invalid" if may_change else refusal(who))

    bound = client.bind(cluster_id)
    assert client.outcome(bound) == ("ok" if may_manage else refusal(who, may_read))
    if may_manage:
        wait_operation(server, client.operation(bound))


def test_list_shows_only_readable_folders(setup: tuple[RunningServer, str, str]) -> None:
    server, _, _ = setup
    denied = server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}", token=TOKENS["outsider"])
    assert denied.status_code == 403
    own = server.rest("GET", f"/managed-redis/v1/clusters?folderId={OTHER_FOLDER}", token=TOKENS["outsider"])
    assert own.status_code == 200 and own.json().get("clusters", []) == []


def test_a_cluster_binding_grants_that_cluster_only(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, _ = setup
    binding = {"roleId": "managed-redis.viewer", "subject": {"id": "outsider", "type": "userAccount"}}
    response = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:setAccessBindings",
        token=TOKENS["admin"],
        json={"accessBindings": [binding]},
    )
    done = wait_operation(server, response.json())
    assert done["response"]["effectiveDeltas"] == [{"action": "ADD", "accessBinding": binding}]
    listed = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}:listAccessBindings", token=TOKENS["viewer"])
    assert listed.json()["accessBindings"] == [binding]
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=TOKENS["outsider"]).status_code == 200
    assert (
        server.rest("GET", f"/managed-redis/v1/clusters?folderId={FOLDER}", token=TOKENS["outsider"]).status_code == 403
    )
    refused = server.rest(
        "PATCH",
        f"/managed-redis/v1/clusters/{cluster_id}",
        token=TOKENS["outsider"],
        json={"updateMask": "description", "description": "outsider was here"},
    )
    assert refused.status_code == 403
    unknown_role = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:setAccessBindings",
        token=TOKENS["admin"],
        json={"accessBindings": [{"roleId": "root", "subject": {"id": "x", "type": "userAccount"}}]},
    )
    assert unknown_role.status_code == 400 and "access_bindings[0].role_id" in unknown_role.json()["message"]
    cleared = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:setAccessBindings",
        token=TOKENS["admin"],
        json={"accessBindings": []},
    )
    wait_operation(server, cleared.json())
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=TOKENS["outsider"]).status_code == 404


def test_move_needs_rights_on_both_folders(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, _ = setup
    response = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:move",
        token=TOKENS["editor"],
        json={"destinationFolderId": OTHER_FOLDER},
    )
    assert response.status_code == 403 and OTHER_FOLDER in response.json()["message"]
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["folderId"] == FOLDER


def test_restore_into_another_folder_needs_rights_on_both(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, _ = setup
    backup = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
    wait_operation(server, backup.json())
    backup_id = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups").json()["backups"][0]["id"]
    body = create_body("auth-restored")
    body.pop("folderId")
    body.update(backupId=backup_id, folderId=OTHER_FOLDER)
    # The editor may restore in FOLDER, not into OTHER_FOLDER; the outsider may not read the backup at all.
    refused = server.rest("POST", "/managed-redis/v1/clusters:restore", token=TOKENS["editor"], json=body)
    assert refused.status_code == 403 and OTHER_FOLDER in refused.json()["message"]
    hidden = server.rest("POST", "/managed-redis/v1/clusters:restore", token=TOKENS["outsider"], json=body)
    assert hidden.status_code == 404 and hidden.json()["message"] == f"backup {backup_id} does not exist"
    assert FOLDER not in hidden.json()["message"]
    allowed = server.rest("POST", "/managed-redis/v1/clusters:restore", token="admin", json=body)
    done = wait_operation(server, allowed.json())
    assert done["response"]["folderId"] == OTHER_FOLDER


def test_resources_out_of_sight_look_missing(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, operation_id = setup
    unknown = "c9qnosuchcluster0000"
    for path, words in [
        (f"/managed-redis/v1/clusters/{cluster_id}", f"cluster {cluster_id} does not exist"),
        (f"/managed-redis/v1/clusters/{cluster_id}/hosts", f"cluster {cluster_id} does not exist"),
        (f"/operations/{operation_id}", f"operation {operation_id} does not exist"),
    ]:
        hidden = server.rest("GET", path, token=TOKENS["outsider"])
        assert hidden.status_code == 404 and hidden.json()["message"] == words
    # Exactly what a missing cluster gets: 403-vs-404 tells nothing about other folders.
    missing = server.rest("GET", f"/managed-redis/v1/clusters/{unknown}", token=TOKENS["outsider"])
    hidden = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=TOKENS["outsider"])
    assert (missing.status_code, missing.json()["code"]) == (hidden.status_code, hidden.json()["code"])
    assert missing.json()["message"].replace(unknown, cluster_id) == hidden.json()["message"]
    assert FOLDER not in hidden.text
    grpc_client = Grpc(server, "outsider")
    result = grpc_client._call(grpc_client.clusters.Get, cs.GetClusterRequest(cluster_id=cluster_id))
    assert isinstance(result, grpc.RpcError), result
    assert result.code() == grpc.StatusCode.NOT_FOUND and FOLDER not in result.details()
    # A caller who sees the cluster but may not change it is denied, without naming its folder.
    denied = Rest(server, "viewer").change(cluster_id, "viewer was here")
    assert denied.status_code == 403 and FOLDER not in denied.json()["message"]


def set_bindings(server: RunningServer, cluster_id: str, bindings: list[dict[str, Any]]) -> None:
    response = server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:setAccessBindings",
        json={"accessBindings": bindings},
    )
    assert "error" not in wait_operation(server, json_object(response))


def move(server: RunningServer, cluster_id: str, folder_id: str, who: str) -> requests.Response:
    return server.rest(
        "POST",
        f"/managed-redis/v1/clusters/{cluster_id}:move",
        token=TOKENS[who],
        json={"destinationFolderId": folder_id},
    )


def test_a_cluster_scoped_editor_cannot_move_the_cluster_away(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, _ = setup
    set_bindings(
        server, cluster_id, [{"roleId": "managed-redis.editor", "subject": {"id": "outsider", "type": "userAccount"}}]
    )
    try:
        # The binding lets the outsider change the cluster...
        changed = Rest(server, "outsider").change(cluster_id, "changed through a cluster binding")
        assert changed.status_code == 200 and "error" not in wait_operation(server, changed.json())
        # ... but not take it out of its folder, into one the outsider owns: on either transport.
        refused = move(server, cluster_id, OTHER_FOLDER, "outsider")
        assert refused.status_code == 403 and "bound on the cluster is not enough" in refused.json()["message"]
        grpc_client = Grpc(server, "outsider")
        result = grpc_client._call(
            grpc_client.clusters.Move, cs.MoveClusterRequest(cluster_id=cluster_id, destination_folder_id=OTHER_FOLDER)
        )
        assert isinstance(result, grpc.RpcError), result
        assert result.code() == grpc.StatusCode.PERMISSION_DENIED
        assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["folderId"] == FOLDER
        assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=TOKENS["admin"]).status_code == 200
    finally:
        set_bindings(server, cluster_id, [])


def test_an_editor_of_both_folders_moves_the_cluster(setup: tuple[RunningServer, str, str]) -> None:
    server, cluster_id, _ = setup
    # The folder's own admin may not push it into a folder where they have no role.
    refused = move(server, cluster_id, OTHER_FOLDER, "admin")
    assert refused.status_code == 403 and OTHER_FOLDER in refused.json()["message"]
    moved = move(server, cluster_id, OTHER_FOLDER, "mover")
    assert moved.status_code == 200
    done = wait_operation(server, moved.json())
    try:
        assert "error" not in done and done["response"]["folderId"] == OTHER_FOLDER
        assert done["metadata"]["sourceFolderId"] == FOLDER and done["metadata"]["destinationFolderId"] == OTHER_FOLDER
        path = f"/managed-redis/v1/clusters/{cluster_id}"
        assert server.rest("GET", path, token=TOKENS["outsider"]).status_code == 200
        assert server.rest("GET", path, token=TOKENS["viewer"]).status_code == 404
    finally:
        back = move(server, cluster_id, FOLDER, "mover")
        assert "error" not in wait_operation(server, back.json())
    assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}", token=TOKENS["viewer"]).status_code == 200
