"""The words the store keeps for a cluster's, a host's and a backup's state, spelt once.

Each is a ``StrEnum`` whose values are the strings stored in the database (so rows written
before these existed read the same) and, for ``ClusterStatus``, the names of the API's
``Cluster.Status`` values (``cluster_pb2.Cluster.Status.Value(status)`` maps one to the
other). A leaf module: every layer may import it, the store included, since the store is
where these values live.
"""

from __future__ import annotations

from enum import StrEnum


class ClusterStatus(StrEnum):
    """``clusters.status``: where a cluster is in its life (the API's ``Cluster.Status``)."""

    CREATING = "CREATING"
    RUNNING = "RUNNING"
    ERROR = "ERROR"
    UPDATING = "UPDATING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    STARTING = "STARTING"


class HostState(StrEnum):
    """``hosts.state``: serving, joining (its operation is adding it), or leaving."""

    ACTIVE = "ACTIVE"
    ADDING = "ADDING"
    REMOVING = "REMOVING"


class BackupStatus(StrEnum):
    """``backups.status``: being written, or finished (only finished backups are listed)."""

    CREATING = "CREATING"
    DONE = "DONE"


class BackupType(StrEnum):
    """``backups.type``: made by the schedule (expires) or on request (kept until deleted)."""

    AUTOMATED = "AUTOMATED"
    MANUAL = "MANUAL"
