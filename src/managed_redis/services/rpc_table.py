"""Which RPC each service object answers, and which it does not yet: the RPC table.

For every service the server serves (its official descriptor), ``implemented`` maps each
built RPC's name to the service class's function carrying it out, called as
``function(service object, request, caller) -> response``; ``not_yet`` names the RPCs
answered UNIMPLEMENTED. ``api/methods.py`` serves exactly these services and binds by this
table (nothing is found by name), and ``tests/unit/test_rpc_table.py`` holds it to the
descriptors: every RPC is in one of the two, and nothing else is.

To add an RPC: write the method on its service, then move its name here from ``not_yet`` to
``implemented``, and run ``make readme``: the README's RPC table, between
``<!-- rpc-table:begin -->`` and ``<!-- rpc-table:end -->``, is written from this one
(``python -m managed_redis.services.rpc_table --readme README.md``; ``--markdown`` prints it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import ServiceDescriptor
from yandex.cloud.endpoint import api_endpoint_service_pb2
from yandex.cloud.iam.v1 import iam_token_service_pb2
from yandex.cloud.mdb.redis.v1 import (
    backup_retention_policy_service_pb2,
    backup_service_pb2,
    change_freeze_service_pb2,
    cluster_service_pb2,
    maintenance_service_pb2,
    resource_preset_service_pb2,
    user_service_pb2,
    versions_service_pb2,
)
from yandex.cloud.operation import operation_service_pb2

from managed_redis.readme_sections import ReadmeSection, main
from managed_redis.services.backups import BackupService
from managed_redis.services.change_freezes import ChangeFreezeService
from managed_redis.services.clusters import ClusterService
from managed_redis.services.context import Caller
from managed_redis.services.endpoints import ApiEndpointService
from managed_redis.services.iam_tokens import IamTokenService
from managed_redis.services.maintenance import MaintenanceService
from managed_redis.services.operations import OperationService
from managed_redis.services.resource_presets import ResourcePresetService
from managed_redis.services.retention_policies import BackupRetentionPolicyService
from managed_redis.services.users import UserService
from managed_redis.services.versions import VersionsService

# (service object, request message, caller) -> response message (or messages, streaming).
RpcFunction = Callable[[Any, Any, Caller], Any]


@dataclass(frozen=True)
class ServiceRpcs:
    """One served service: its descriptor, its built RPCs by name, and those not built yet."""

    service: ServiceDescriptor
    implemented: Mapping[str, RpcFunction]
    not_yet: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``ClusterService``: how replies and the README name the service."""
        return str(self.service.name)


RPC_TABLE: tuple[ServiceRpcs, ...] = (
    ServiceRpcs(
        cluster_service_pb2.DESCRIPTOR.services_by_name["ClusterService"],
        {
            "Get": ClusterService.get,
            "List": ClusterService.list,
            "Create": ClusterService.create,
            "Update": ClusterService.update,
            "Delete": ClusterService.delete,
            "Start": ClusterService.start,
            "Stop": ClusterService.stop,
            "Move": ClusterService.move,
            "Backup": ClusterService.backup,
            "Restore": ClusterService.restore,
            "StartFailover": ClusterService.start_failover,
            "ListOperations": ClusterService.list_operations,
            "ListBackups": ClusterService.list_backups,
            "ListHosts": ClusterService.list_hosts,
            "AddHosts": ClusterService.add_hosts,
            "DeleteHosts": ClusterService.delete_hosts,
            "UpdateHosts": ClusterService.update_hosts,
            "GetShard": ClusterService.get_shard,
            "ListShards": ClusterService.list_shards,
            "AddShard": ClusterService.add_shard,
            "DeleteShard": ClusterService.delete_shard,
            "Rebalance": ClusterService.rebalance,
            "EnableSharding": ClusterService.enable_sharding,
            "ListAccessBindings": ClusterService.list_access_bindings,
            "SetAccessBindings": ClusterService.set_access_bindings,
            "UpdateAccessBindings": ClusterService.update_access_bindings,
            "ListLogs": ClusterService.list_logs,
            "StreamLogs": ClusterService.stream_logs,
            "RescheduleMaintenance": ClusterService.reschedule_maintenance,
        },
    ),
    ServiceRpcs(
        backup_service_pb2.DESCRIPTOR.services_by_name["BackupService"],
        {"Get": BackupService.get, "List": BackupService.list, "Delete": BackupService.delete},
    ),
    ServiceRpcs(
        resource_preset_service_pb2.DESCRIPTOR.services_by_name["ResourcePresetService"],
        {"Get": ResourcePresetService.get, "List": ResourcePresetService.list},
    ),
    ServiceRpcs(
        user_service_pb2.DESCRIPTOR.services_by_name["UserService"],
        {
            "Get": UserService.get,
            "List": UserService.list,
            "Create": UserService.create,
            "Update": UserService.update,
            "Delete": UserService.delete,
        },
    ),
    ServiceRpcs(
        backup_retention_policy_service_pb2.DESCRIPTOR.services_by_name["BackupRetentionPolicyService"],
        {
            "Get": BackupRetentionPolicyService.get,
            "List": BackupRetentionPolicyService.list,
            "ListByFolder": BackupRetentionPolicyService.list_by_folder,
            "Create": BackupRetentionPolicyService.create,
            "Delete": BackupRetentionPolicyService.delete,
        },
    ),
    ServiceRpcs(
        change_freeze_service_pb2.DESCRIPTOR.services_by_name["ChangeFreezeService"],
        {
            "Create": ChangeFreezeService.create,
            "Get": ChangeFreezeService.get,
            "List": ChangeFreezeService.list,
            "Terminate": ChangeFreezeService.terminate,
            "GetLimits": ChangeFreezeService.get_limits,
        },
    ),
    ServiceRpcs(
        maintenance_service_pb2.DESCRIPTOR.services_by_name["MaintenanceService"],
        {"List": MaintenanceService.list, "Get": MaintenanceService.get, "Reschedule": MaintenanceService.reschedule},
    ),
    ServiceRpcs(
        versions_service_pb2.DESCRIPTOR.services_by_name["VersionsService"],
        {"List": VersionsService.list},
    ),
    ServiceRpcs(
        operation_service_pb2.DESCRIPTOR.services_by_name["OperationService"],
        {"Get": OperationService.get, "Cancel": OperationService.cancel},
    ),
    ServiceRpcs(
        api_endpoint_service_pb2.DESCRIPTOR.services_by_name["ApiEndpointService"],
        {"Get": ApiEndpointService.get, "List": ApiEndpointService.list},
    ),
    ServiceRpcs(
        iam_token_service_pb2.DESCRIPTOR.services_by_name["IamTokenService"],
        {"Create": IamTokenService.create},
        not_yet=("CreateForServiceAccount", "Revoke"),
    ),
)


def markdown_table() -> str:
    """Every served service as a row of its built RPCs and those answered UNIMPLEMENTED
    (Markdown, ending in a newline)."""
    rows = ["| service | implemented | not yet (UNIMPLEMENTED) |", "|---|---|---|"]
    for rpcs in RPC_TABLE:
        built = ", ".join(rpcs.implemented) or "none"
        missing = ", ".join(rpcs.not_yet) or "none"
        rows.append(f"| `{rpcs.service.full_name}` | {built} | {missing} |")
    return "\n".join(rows) + "\n"


# The README's "What the API answers" table.
SECTION = ReadmeSection("rpc-table", "src/managed_redis/services/rpc_table.py", markdown_table)


if __name__ == "__main__":
    raise SystemExit(main(SECTION, "python -m managed_redis.services.rpc_table", __doc__))
