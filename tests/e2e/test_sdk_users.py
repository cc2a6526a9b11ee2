"""Redis users with the official SDK: Create, Get, List, Update, Delete, each change waited for
with ``wait_operation_and_get_result`` and typed as the API declares; the user works in Redis
as declared, and a refusal comes back as the gRPC error Terraform and the CLI expect."""

from __future__ import annotations

import grpc
import pytest
import redis
from google.protobuf import empty_pb2, field_mask_pb2, wrappers_pb2
from yandex.cloud.mdb.redis.v1 import user_pb2
from yandex.cloud.mdb.redis.v1 import user_service_pb2 as us
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.mdb.redis.v1.user_service_pb2_grpc import UserServiceStub

from tests.support.sdk_operations import create_two_host_cluster, master, wait_result
from tests.support.server import RunningServer


def permissions(**fields: str) -> user_pb2.Permissions:
    return user_pb2.Permissions(**{name: wrappers_pb2.StringValue(value=value) for name, value in fields.items()})


def test_users_through_the_sdk(cluster_server: RunningServer) -> None:
    sdk = cluster_server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    users = sdk.client(UserServiceStub)
    cluster = create_two_host_cluster(sdk, "sdk-users")

    created = wait_result(
        sdk,
        users.Create(
            us.CreateUserRequest(
                cluster_id=cluster.id,
                user_spec=user_pb2.UserSpec(
                    name="app",
                    passwords=["App-Password-1"],
                    permissions=permissions(patterns="~app:*", commands="+get +set"),
                ),
            )
        ),
        response_type=user_pb2.User,
        meta_type=us.CreateUserMetadata,
    )
    assert created.meta == us.CreateUserMetadata(cluster_id=cluster.id, user_name="app")
    user = created.response
    assert user.name == "app" and user.cluster_id == cluster.id and user.enabled
    assert user.permissions.patterns.value == "~app:*" and user.permissions.commands.value == "+get +set"
    assert user.acl_options.startswith("on ~app:*") and "#" not in user.acl_options
    assert users.Get(us.GetUserRequest(cluster_id=cluster.id, user_name="app")) == user
    listed = users.List(us.ListUsersRequest(cluster_id=cluster.id))
    assert [u.name for u in listed.users] == ["default", "app"] and listed.next_page_token == ""

    host = master(clusters, cluster.id)
    app = redis.Redis(host=host, username="app", password="App-Password-1", decode_responses=True, socket_timeout=5)
    assert app.set("app:1", "one") and app.get("app:1") == "one"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.get("other:1")

    updated = wait_result(
        sdk,
        users.Update(
            us.UpdateUserRequest(
                cluster_id=cluster.id,
                user_name="app",
                update_mask=field_mask_pb2.FieldMask(paths=["permissions.patterns", "passwords"]),
                permissions=permissions(patterns="~app:* ~other:*"),
                passwords=["App-Password-2"],
            )
        ),
        response_type=user_pb2.User,
        meta_type=us.UpdateUserMetadata,
    )
    assert updated.meta == us.UpdateUserMetadata(cluster_id=cluster.id, user_name="app")
    assert updated.response.permissions.patterns.value == "~app:* ~other:*"
    assert updated.response.permissions.commands.value == "+get +set"  # not in the mask: kept
    assert app.get("other:1") is None  # the open connection goes on, with the new permissions
    renewed = redis.Redis(host=host, username="app", password="App-Password-2", decode_responses=True)
    assert renewed.get("app:1") == "one"

    with pytest.raises(grpc.RpcError) as refused:
        users.Create(
            us.CreateUserRequest(
                cluster_id=cluster.id,
                user_spec=user_pb2.UserSpec(
                    name="admin", passwords=["Admin-Password-1"], permissions=permissions(categories="+@admin")
                ),
            )
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_spec.permissions.categories" in str(refused.value.details())
    with pytest.raises(grpc.RpcError) as taken:
        users.Create(
            us.CreateUserRequest(
                cluster_id=cluster.id, user_spec=user_pb2.UserSpec(name="app", passwords=["App-Password-3"])
            )
        )
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS

    deleted = wait_result(
        sdk,
        users.Delete(us.DeleteUserRequest(cluster_id=cluster.id, user_name="app")),
        response_type=empty_pb2.Empty,
        meta_type=us.DeleteUserMetadata,
    )
    assert deleted.optional_response is None  # the SDK answers None for Empty
    assert deleted.meta == us.DeleteUserMetadata(cluster_id=cluster.id, user_name="app")
    with pytest.raises(grpc.RpcError) as gone:
        users.Get(us.GetUserRequest(cluster_id=cluster.id, user_name="app"))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=host, username="app", password="App-Password-2").ping()
