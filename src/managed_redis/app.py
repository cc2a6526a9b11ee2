"""The composition root: builds every part from the settings and runs the server or a worker.

``Components`` is what both ``mredis serve`` and ``mredis worker`` need (store, clock,
operation queue, handlers' dependencies); ``serve`` adds the API on top: services, the
method table, the dispatcher, the gRPC and REST listeners.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from managed_redis.api.auth import Authenticator, ensure_admin_token
from managed_redis.api.console_pages import CA_CERTIFICATE_PATH, ca_certificate_page, console_pages
from managed_redis.api.dispatch import Dispatcher
from managed_redis.api.docs_pages import docs_pages
from managed_redis.api.grpc_server import start_grpc_server
from managed_redis.api.methods import build_method_table
from managed_redis.api.metrics import METRICS_PATH, metrics_page
from managed_redis.api.progress_page import PROGRESS_PATH, progress_page
from managed_redis.api.rest import Page, RestGateway, start_rest_server
from managed_redis.backup_store import S3Access, open_backup_store
from managed_redis.catalog import versions as version_catalog
from managed_redis.clock import SYSTEM_CLOCK, Clock
from managed_redis.engine import process
from managed_redis.engine.selection import open_engine
from managed_redis.operations import registry
from managed_redis.operations.deps import Deps
from managed_redis.operations.log_rotation import LogRotation
from managed_redis.operations.maintenance_scheduler import MaintenanceScheduler
from managed_redis.operations.scheduler import BackupScheduler
from managed_redis.operations.submit import OperationQueue
from managed_redis.operations.supervisor import Supervisor
from managed_redis.operations.worker import AnyKind, Worker
from managed_redis.pki import CertificateAuthority
from managed_redis.services.backups import BackupService
from managed_redis.services.change_freezes import ChangeFreezeService
from managed_redis.services.clusters import ClusterService
from managed_redis.services.endpoints import ApiEndpointService
from managed_redis.services.iam_tokens import IamTokenService
from managed_redis.services.maintenance import MaintenanceService
from managed_redis.services.metrics import MetricsService
from managed_redis.services.operations import OperationService
from managed_redis.services.resource_presets import ResourcePresetService
from managed_redis.services.retention_policies import BackupRetentionPolicyService
from managed_redis.services.submitting import replayed_operation
from managed_redis.services.users import UserService
from managed_redis.services.versions import VersionsService
from managed_redis.settings import Settings
from managed_redis.store.database import Database
from managed_redis.store.migrations import migrate
from managed_redis.vault import Vault

log = logging.getLogger("managed_redis")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@dataclass
class Components:
    settings: Settings
    db: Database
    clock: Clock
    queue: OperationQueue
    handlers: Mapping[str, AnyKind]
    deps: Deps

    def new_worker(self, name: str | None = None) -> Worker:
        return Worker(
            self.db,
            self.handlers,
            self.deps,
            threads=self.settings.worker_threads,
            lease_s=self.settings.lease_s,
            poll_s=self.settings.worker_poll_s,
            clock=self.clock,
            name=name,
        )


def build_components(
    settings: Settings, handlers: Mapping[str, AnyKind] | None = None, clock: Clock = SYSTEM_CLOCK
) -> Components:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(settings.effective_database_url)
    migrate(db)
    deps = Deps(
        settings=settings,
        engine=open_engine(settings),
        vault=Vault.open(settings.data_dir, settings.secret_key),
        ca=CertificateAuthority(settings.tls_dir),
        versions=tuple(version_catalog.discover(settings.redis_binaries)),
        backups=open_backup_store(settings.effective_backup_store, s3_access(settings)),
    )
    return Components(
        settings=settings,
        db=db,
        clock=clock,
        queue=OperationQueue(db, clock),
        handlers=registry.by_name() if handlers is None else handlers,
        deps=deps,
    )


def s3_access(settings: Settings) -> S3Access:
    """How the backup store reaches its bucket when it is ``s3://``: the ``s3_*`` settings."""
    return S3Access(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        session_token=settings.s3_session_token,
    )


def _split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _advertised(settings: Settings, bound_port: int) -> str:
    if settings.grpc_advertise_addr:
        return settings.grpc_advertise_addr
    host, _ = _split_host_port(settings.grpc_addr)
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    return f"{host}:{bound_port}"


class ApiServer:
    """``mredis serve``: both listeners and, unless disabled, an embedded worker."""

    def __init__(self, components: Components) -> None:
        self.components = components
        settings = components.settings
        self.admin_token, self.admin_token_created = ensure_admin_token(settings.admin_token_path, settings.admin_token)
        self.authenticator = Authenticator(self.admin_token, settings.tokens_path)
        self.ca = components.deps.ca
        self.endpoints = ApiEndpointService()
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="api")
        self.worker: Worker | None = None
        self.supervisor = Supervisor(components.db, components.deps, components.clock, settings.supervisor_period_s)
        self.metrics = MetricsService(components.db, self.supervisor.metrics, components.clock)
        self.log_rotation = LogRotation(settings)
        self.scheduler = BackupScheduler(
            components.db, components.deps, components.queue, components.clock, settings.scheduler_period_s
        )
        self.maintenance = MaintenanceScheduler(
            components.db, components.deps, components.queue, components.clock, settings.maintenance_period_s
        )
        self.implementations = self._services()
        self.methods = build_method_table(self.implementations)
        queue = components.queue
        self.dispatcher = Dispatcher(self.authenticator, self.executor, replay=lambda c: replayed_operation(queue, c))

    def _pages(self) -> dict[str, Page]:
        """The REST pages beside the methods (GET of an exact path)."""
        metrics = metrics_page(self.authenticator, self.metrics, self.executor)
        ca = ca_certificate_page(self.authenticator, self.ca.cert_path, self.executor)
        operations = self.implementations["yandex.cloud.operation.OperationService"]
        assert isinstance(operations, OperationService)
        progress = progress_page(self.authenticator, operations, self.executor)
        return {
            **docs_pages(self.methods),
            **console_pages(),
            METRICS_PATH: metrics,
            CA_CERTIFICATE_PATH: ca,
            PROGRESS_PATH: progress,
        }

    def _services(self) -> dict[str, object]:
        c = self.components
        return {
            "yandex.cloud.mdb.redis.v1.ClusterService": ClusterService(c.db, c.queue, c.deps),
            "yandex.cloud.mdb.redis.v1.BackupService": BackupService(c.db, c.queue),
            "yandex.cloud.mdb.redis.v1.BackupRetentionPolicyService": BackupRetentionPolicyService(c.db, c.queue),
            "yandex.cloud.mdb.redis.v1.UserService": UserService(c.db, c.queue, c.deps),
            "yandex.cloud.mdb.redis.v1.ChangeFreezeService": ChangeFreezeService(c.db, c.queue, c.clock),
            "yandex.cloud.mdb.redis.v1.ResourcePresetService": ResourcePresetService(c.deps.settings),
            "yandex.cloud.mdb.redis.v1.VersionsService": VersionsService(c.deps.versions),
            "yandex.cloud.mdb.redis.v1.MaintenanceService": MaintenanceService(c.db, c.queue),
            "yandex.cloud.operation.OperationService": OperationService(c.db, c.clock),
            "yandex.cloud.endpoint.ApiEndpointService": self.endpoints,
            "yandex.cloud.iam.v1.IamTokenService": IamTokenService(self.authenticator.authenticate_token, c.clock),
        }

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.components.settings
        if settings.embedded_worker:
            self.worker = self.components.new_worker()
            self.components.queue.notify = self.worker.notify
            self.worker.start()
        self.supervisor.start()
        self.scheduler.start()
        self.maintenance.start()
        self.log_rotation.start()
        grpc_host, _ = _split_host_port(settings.grpc_addr)
        names = ["localhost", "127.0.0.1", "::1"]
        if grpc_host not in ("", "0.0.0.0", "::"):
            names.append(grpc_host)
        if settings.grpc_advertise_addr:
            names.append(_split_host_port(settings.grpc_advertise_addr)[0])
        cert = self.ca.issue(settings.tls_dir / "server", "managed-redis API", names)
        grpc_server, grpc_port = await start_grpc_server(
            self.dispatcher,
            self.methods,
            settings.grpc_addr,
            cert.cert_path.read_bytes(),
            cert.key_path.read_bytes(),
        )
        self.endpoints.grpc_address = _advertised(settings, grpc_port)
        rest_runner, rest_port = await start_rest_server(
            RestGateway(self.dispatcher, self.methods, pages=self._pages()), settings.rest_addr
        )
        rest_host, _ = _split_host_port(settings.rest_addr)
        if self.admin_token_created:
            print(f"mredis: created the admin token in {settings.admin_token_path}", flush=True)
        print(
            f"mredis: serving REST on http://{rest_host}:{rest_port} and gRPC+TLS on "
            f"{grpc_host}:{grpc_port} (CA {self.ca.cert_path}); admin token in "
            f"{'MREDIS_ADMIN_TOKEN' if settings.admin_token else settings.admin_token_path}",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await rest_runner.cleanup()
            await grpc_server.stop(grace=2)
            self.scheduler.stop()
            self.maintenance.stop()
            self.log_rotation.stop()
            self.supervisor.stop()
            if self.worker is not None:
                self.worker.stop()
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.components.db.dispose()


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def _raise_open_files_limit() -> None:
    """Allow as many open files as the system lets this process have: the supervisor keeps a
    process handle and a connection per Redis and Sentinel (4 per host)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %d: %s", soft, exc)


# The control plane's scheduling priority over the Redis processes it runs: on a machine full
# of them (1,200 idle ones kept both cores of the development machine busy) it must still get
# the CPU to look at them in time, and it needs little of it.
SERVE_NICENESS = -5


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    _raise_open_files_limit()
    if not process.run_ahead(SERVE_NICENESS):
        log.debug("serve runs at the Redis processes' own priority (raising it needs root)")

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(asyncio.get_running_loop(), stop)
        server = ApiServer(build_components(settings))
        await server.run(stop)

    asyncio.run(main())
    _leave_stuck_threads()
    return 0


def _leave_stuck_threads() -> None:
    """Exit now even if some step is still inside a long engine call: SIGTERM must end the
    process within seconds, and an unfinished operation resumes from its checkpoint once its
    lease expires (in this process's next life or in another worker)."""
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if stuck:
        log.warning("leaving %d busy threads behind; their operations resume after their lease", len(stuck))
        logging.shutdown()
        os._exit(0)


def run_worker(settings: Settings, components: Components | None = None) -> int:
    """``mredis worker``: run operations from the shared database until SIGTERM/SIGINT."""
    configure_logging(settings.log_level)
    components = components or build_components(settings)
    worker = components.new_worker()
    worker.start()
    print(f"mredis: worker {worker.name} running (pid {os.getpid()})", flush=True)

    async def wait() -> None:
        stop = asyncio.Event()
        _stop_on_signals(asyncio.get_running_loop(), stop)
        await stop.wait()

    asyncio.run(wait())
    worker.stop()
    components.db.dispose()
    _leave_stuck_threads()
    return 0
