"""Who may do what: roles granted per folder, the permissions they carry, and the check.

Roles, from weakest to strongest (``managed-redis.*``)::

    auditor   READ                       see clusters, hosts, operations, backups
    viewer    READ, READ_LOGS            ... and read logs
    restorer  READ, RESTORE              ... and restore backups into a new cluster
    editor    READ, READ_LOGS, MUTATE, RESTORE
    admin     every permission, including MANAGE_ACCESS (access bindings)

A principal is an authenticated caller: a subject id and its roles per folder; roles
granted on the folder ``*`` hold in every folder. The bootstrap admin is admin everywhere.

What a refusal says (the cloud's rule): a caller who may not even see a resource (no READ
in its folder, none bound on it) is told it does not exist, exactly as for a missing one,
so NOT_FOUND never tells another folder's resources apart and no message names a folder
the caller cannot see. PERMISSION_DENIED is for a caller who sees the resource but lacks
the right for this action, and for folder-wide calls (List, Create) on the folder the
caller named.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from managed_redis.errors import NotFound, PermissionDenied

ALL_FOLDERS = "*"


class Permission(enum.Enum):
    READ = "read"
    READ_LOGS = "read logs"
    MUTATE = "change"
    RESTORE = "restore"
    MANAGE_ACCESS = "manage access"


ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "managed-redis.auditor": frozenset({Permission.READ}),
    "managed-redis.viewer": frozenset({Permission.READ, Permission.READ_LOGS}),
    "managed-redis.restorer": frozenset({Permission.READ, Permission.RESTORE}),
    "managed-redis.editor": frozenset({Permission.READ, Permission.READ_LOGS, Permission.MUTATE, Permission.RESTORE}),
    "managed-redis.admin": frozenset(Permission),
}

# The weakest role that grants each permission, for messages that say what is missing.
_WEAKEST_ROLE = {
    Permission.READ: "managed-redis.auditor",
    Permission.READ_LOGS: "managed-redis.viewer",
    Permission.RESTORE: "managed-redis.restorer",
    Permission.MUTATE: "managed-redis.editor",
    Permission.MANAGE_ACCESS: "managed-redis.admin",
}


@dataclass(frozen=True)
class Principal:
    subject_id: str
    folder_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    admin_everywhere: bool = False

    def permissions_in(self, folder_id: str, resource_roles: frozenset[str] = frozenset()) -> frozenset[Permission]:
        """What this principal may do in a folder, plus what roles bound on one resource add."""
        if self.admin_everywhere:
            return frozenset(Permission)
        granted: set[Permission] = set()
        roles = self.folder_roles.get(folder_id, frozenset()) | self.folder_roles.get(ALL_FOLDERS, frozenset())
        for role in roles | resource_roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
        return frozenset(granted)

    def can(self, folder_id: str, permission: Permission, resource_roles: frozenset[str] = frozenset()) -> bool:
        return permission in self.permissions_in(folder_id, resource_roles)

    def require(self, folder_id: str, permission: Permission, resource_roles: frozenset[str] = frozenset()) -> None:
        """Raise PermissionDenied unless this principal may ``permission`` in the folder
        (or on the resource whose bindings gave it ``resource_roles``). For folder-wide
        calls, where the caller named the folder."""
        if not self.can(folder_id, permission, resource_roles):
            raise PermissionDenied(
                f"permission denied: {self.subject_id} may not {permission.value} in folder "
                f"{folder_id}; this needs role {_WEAKEST_ROLE[permission]} or stronger on it"
            )

    def require_on(
        self,
        resource: str,
        folder_id: str,
        permission: Permission,
        resource_roles: frozenset[str] = frozenset(),
        missing: str | None = None,
    ) -> None:
        """Check ``permission`` on one resource (``"cluster c9q…"``) in ``folder_id``.

        Raises NotFound with ``missing`` (default ``"<resource> does not exist"``, the very
        words a missing resource gets) when the caller may not even read it, and
        PermissionDenied naming the resource, not its folder, when it may read but not
        ``permission``."""
        if not self.can(folder_id, Permission.READ, resource_roles):
            raise NotFound(missing or f"{resource} does not exist")
        if not self.can(folder_id, permission, resource_roles):
            raise PermissionDenied(
                f"permission denied: {self.subject_id} may not {permission.value} on {resource}; this needs "
                f"role {_WEAKEST_ROLE[permission]} or stronger on it or on its folder"
            )
