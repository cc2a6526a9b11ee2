"""An operation waited for through the official SDK, with its response and metadata typed;
and the two-host cluster SDK tests start from.

``SDK.wait_operation_and_get_result`` is annotated as returning a result *or* an
``OperationError`` with optional parts, though it raises the error and fills in what was
asked for; ``wait_result`` says so once, for every SDK test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import yandexcloud
from google.protobuf.message import Message
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.mdb.redis.v1.config import redis_pb2
from yandex.cloud.operation.operation_pb2 import Operation
from yandexcloud.operations import OperationResult

from tests.support.clusters import FOLDER, PASSWORD

ResponseT = TypeVar("ResponseT", bound=Message)
MetaT = TypeVar("MetaT", bound=Message)


@dataclass(frozen=True)
class Finished(Generic[ResponseT, MetaT]):
    """A finished operation: its response (None when its type is Empty) and its metadata."""

    optional_response: ResponseT | None
    meta: MetaT

    @property
    def response(self) -> ResponseT:
        """The response; AssertionError for an operation whose response type is Empty."""
        assert self.optional_response is not None, "this operation's response is Empty"
        return self.optional_response


def wait_result(
    sdk: yandexcloud.SDK, operation: Operation, response_type: type[ResponseT], meta_type: type[MetaT]
) -> Finished[ResponseT, MetaT]:
    """Wait for ``operation`` to finish; raises yandexcloud's OperationError if it failed."""
    result = sdk.wait_operation_and_get_result(operation, response_type=response_type, meta_type=meta_type)
    assert isinstance(result, OperationResult), result
    assert result.meta is not None, "the SDK unpacks the metadata it is given a type for"
    return Finished(result.response, result.meta)


def config() -> cs.ConfigSpec:
    """The smallest preset, with the tests' password."""
    return cs.ConfigSpec(
        resources=cluster_pb2.Resources(resource_preset_id="hm1.nano"), redis=redis_pb2.RedisConfig(password=PASSWORD)
    )


def create_two_host_cluster(sdk: yandexcloud.SDK, name: str) -> cluster_pb2.Cluster:
    """A RUNNING cluster of a master and a replica in two zones, created through the SDK
    (its metadata typed). Raises yandexcloud's OperationError if the Create failed."""
    clusters = sdk.client(ClusterServiceStub)
    operation = clusters.Create(
        cs.CreateClusterRequest(
            folder_id=FOLDER,
            name=name,
            environment=cluster_pb2.Cluster.PRESTABLE,
            config_spec=config(),
            host_specs=[cs.HostSpec(zone_id="ru-central1-a"), cs.HostSpec(zone_id="ru-central1-b")],
        )
    )
    return wait_result(sdk, operation, response_type=cluster_pb2.Cluster, meta_type=cs.CreateClusterMetadata).response


def master(clusters: ClusterServiceStub, cluster_id: str) -> str:
    """The name of the cluster's master, as ListHosts says."""
    hosts = clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=cluster_id)).hosts
    name: str = next(h.name for h in hosts if h.role == cluster_pb2.Host.MASTER)
    return name
