"""The table of every RPC this server answers, read from the official descriptors.

For each served service (``SERVED`` below) and each of its methods: the gRPC path, the
request and response classes, the ``google.api.http`` rule, and the implementation: the
service object's method named after the RPC in snake_case (``StartFailover`` ->
``start_failover``), or None when it is not built yet (the call answers UNIMPLEMENTED).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

# (module holding the service, service name); the order is the order routes are listed in.
SERVED: tuple[tuple[str, str], ...] = (
    ("yandex.cloud.mdb.redis.v1.cluster_service_pb2", "ClusterService"),
    ("yandex.cloud.mdb.redis.v1.backup_service_pb2", "BackupService"),
    ("yandex.cloud.mdb.redis.v1.resource_preset_service_pb2", "ResourcePresetService"),
    ("yandex.cloud.mdb.redis.v1.user_service_pb2", "UserService"),
    ("yandex.cloud.mdb.redis.v1.backup_retention_policy_service_pb2", "BackupRetentionPolicyService"),
    ("yandex.cloud.mdb.redis.v1.change_freeze_service_pb2", "ChangeFreezeService"),
    ("yandex.cloud.mdb.redis.v1.maintenance_service_pb2", "MaintenanceService"),
    ("yandex.cloud.mdb.redis.v1.versions_service_pb2", "VersionsService"),
    ("yandex.cloud.operation.operation_service_pb2", "OperationService"),
    ("yandex.cloud.endpoint.api_endpoint_service_pb2", "ApiEndpointService"),
    ("yandex.cloud.iam.v1.iam_token_service_pb2", "IamTokenService"),
)

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


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def served_services() -> Iterator[ServiceDescriptor]:
    for module_name, service_name in SERVED:
        module = importlib.import_module(module_name)
        yield module.DESCRIPTOR.services_by_name[service_name]


def http_rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def build_method_table(implementations: Mapping[str, object]) -> list[Method]:
    """Every method of every served service, bound to ``implementations[service full name]``."""
    table: list[Method] = []
    for service in served_services():
        impl = implementations.get(service.full_name)
        for descriptor in service.methods:
            bound = getattr(impl, snake_case(descriptor.name), None) if impl is not None else None
            table.append(
                Method(
                    service=service,
                    descriptor=descriptor,
                    request_type=message_factory.GetMessageClass(descriptor.input_type),
                    response_type=message_factory.GetMessageClass(descriptor.output_type),
                    http=http_rule(descriptor),
                    implementation=bound,
                )
            )
    return table
