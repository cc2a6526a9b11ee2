"""ResourcePresetService: the host classes clusters can be created with, as this machine offers them.

Every preset of the catalogue is listed with its memory and cores. ``zone_ids`` says where a
preset can run (api.md §4: the zones where it is available): every zone, or none when one
host of it is larger than all the memory this machine may promise (its RAM x
``memory_overcommit``, services/capacity.py), so a user sees before creating that such hosts
cannot be made here. Whether a cluster fits *now* also depends on the other clusters: that is
answered at Create, as RESOURCE_EXHAUSTED naming the memory that is short. The API has no
quota service for Managed Redis (api.md §2, §7.3), so the machine's capacity shows here only.
"""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import resource_preset_pb2 as preset_pb
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as service_pb

from managed_redis.catalog.presets import PRESETS, PRESETS_BY_ID, ZONES, Preset
from managed_redis.errors import NotFound
from managed_redis.services.capacity import MachineMemory, machine_memory
from managed_redis.services.cluster_checks import shown
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of
from managed_redis.settings import Settings


def preset_proto(preset: Preset, machine: MachineMemory) -> preset_pb.ResourcePreset:
    zones = ZONES if machine.holds(preset) else ()
    return preset_pb.ResourcePreset(id=preset.id, zone_ids=zones, memory=preset.memory, cores=preset.cores)


class ResourcePresetService:
    """Any authenticated caller may read the catalogue: it belongs to no folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, request: service_pb.GetResourcePresetRequest, caller: Caller) -> preset_pb.ResourcePreset:
        preset = PRESETS_BY_ID.get(request.resource_preset_id)
        if preset is None:
            raise NotFound(f"resource preset {shown(request.resource_preset_id)} does not exist")
        return preset_proto(preset, machine_memory(self.settings))

    def list(
        self, request: service_pb.ListResourcePresetsRequest, caller: Caller
    ) -> service_pb.ListResourcePresetsResponse:
        page, token = page_of(PRESETS, request.page_size, request.page_token)
        machine = machine_memory(self.settings)
        return service_pb.ListResourcePresetsResponse(
            resource_presets=[preset_proto(p, machine) for p in page], next_page_token=token
        )
