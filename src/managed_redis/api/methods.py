"""The table of every RPC this server answers, read from the official descriptors.

For each served service (those of ``services/rpc_table.py``'s ``RPC_TABLE``) and each of its
methods: the gRPC path, the request and response classes, the ``google.api.http`` rule, and
the implementation: the function the RPC table names for it, bound to the service object,
or None when the table lists the RPC as not built yet (the call answers UNIMPLEMENTED).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MethodType
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from managed_redis.services.rpc_table import RPC_TABLE, ServiceRpcs

# Services callable without a token: the SDK discovers endpoints and exchanges tokens first.
PUBLIC_SERVICES = frozenset({"yandex.cloud.endpoint.ApiEndpointService", "yandex.cloud.iam.v1.IamTokenService"})

Implementation = Callable[..., Any]


@dataclass(frozen=True)
class Method:
    service: ServiceDescriptor
    descriptor: MethodDescriptor
    request_type: type[Message]
    response_type: type[Message]
    http: http_pb2.HttpRule | None
    implementation: Implementation | None

    @property
    def name(self) -> str:
        """``ClusterService.Get``: how messages name the method."""
        return f"{self.service.name}.{self.descriptor.name}"

    @property
    def grpc_path(self) -> str:
        return f"/{self.service.full_name}/{self.descriptor.name}"

    @property
    def public(self) -> bool:
        return self.service.full_name in PUBLIC_SERVICES

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)


def http_rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def _bound(rpcs: ServiceRpcs, rpc: str, service_object: object | None) -> Implementation | None:
    """The table's function for ``rpc`` bound to ``service_object``; None when either is missing."""
    function = rpcs.implemented.get(rpc)
    if function is None or service_object is None:
        return None
    return MethodType(function, service_object)


def build_method_table(implementations: Mapping[str, object]) -> list[Method]:
    """Every method of every served service, bound by the RPC table to
    ``implementations[service full name]`` (an empty mapping binds nothing)."""
    table: list[Method] = []
    for rpcs in RPC_TABLE:
        service = rpcs.service
        service_object = implementations.get(service.full_name)
        for descriptor in service.methods:
            table.append(
                Method(
                    service=service,
                    descriptor=descriptor,
                    request_type=message_factory.GetMessageClass(descriptor.input_type),
                    response_type=message_factory.GetMessageClass(descriptor.output_type),
                    http=http_rule(descriptor),
                    implementation=_bound(rpcs, descriptor.name, service_object),
                )
            )
    return table
