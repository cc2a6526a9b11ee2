"""What an operation kind is: one typed declaration that every part running operations reads.

An ``OperationKind`` names the kind as stored (``operations.kind``) and says everything the
service, the worker, the supervisor and the scheduler need of it: the description the API
shows, the request, metadata and response types, the handler and its failure hook, whether
it locks its cluster, whether healing may run beside it, and its limits. Changes of one
cluster also say, in ``ClusterChange``, which cluster statuses allow them and what status
the cluster shows while they run. The catalogue of kinds is ``registry.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from google.protobuf.message import Message

from managed_redis.errors import ApiError
from managed_redis.operations.context import OperationContext
from managed_redis.operations.limits import Limits
from managed_redis.statuses import ClusterStatus

RequestT = TypeVar("RequestT", bound=Message)
MetadataT = TypeVar("MetadataT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)


@dataclass(frozen=True)
class ClusterChange:
    """What a change of one existing cluster asks of it.

    ``doing`` names the change in a refusal ("cluster c9q… is STOPPED; start it before
    ``doing``"); ``allowed`` are the cluster statuses it may start from; ``sets_status`` is
    the status the cluster shows while it runs (None: the status stays).
    """

    doing: str
    allowed: tuple[ClusterStatus, ...] = (ClusterStatus.RUNNING,)
    sets_status: ClusterStatus | None = ClusterStatus.UPDATING


@dataclass(frozen=True)
class OperationKind(Generic[RequestT, MetadataT, ResponseT]):
    """One kind of long-running operation, declared once.

    ``run`` works from the stored ``request_type`` message and answers a ``response_type``;
    ``on_error`` (if any) runs once when the operation fails, to leave things as the failure
    promises. ``locks_cluster``: one such operation at a time per cluster. ``heal_during``:
    the kind leaves processes alone, so the supervisor keeps healing while it runs.
    ``change``: set for changes of one existing cluster (``ClusterServiceBase._change``).
    """

    name: str
    description: str
    request_type: type[RequestT]
    metadata_type: type[MetadataT]
    response_type: type[ResponseT]
    run: Callable[[OperationContext[RequestT]], ResponseT]
    on_error: Callable[[OperationContext[RequestT], ApiError], None] | None = None
    limits: Limits = field(default_factory=Limits)
    locks_cluster: bool = True
    heal_during: bool = False
    change: ClusterChange | None = None

    def __str__(self) -> str:
        return self.name
