"""ResourcePresetService: the host classes clusters can be created with."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import resource_preset_pb2 as preset_pb
from yandex.cloud.mdb.redis.v1 import resource_preset_service_pb2 as service_pb

from managed_redis.catalog.presets import PRESETS, PRESETS_BY_ID, ZONES, Preset
from managed_redis.errors import NotFound
from managed_redis.services.context import Caller
from managed_redis.services.pagination import page_of


def preset_proto(preset: Preset) -> preset_pb.ResourcePreset:
    return preset_pb.ResourcePreset(id=preset.id, zone_ids=ZONES, memory=preset.memory, cores=preset.cores)


class ResourcePresetService:
    """Any authenticated caller may read the catalogue: it belongs to no folder."""

    def get(self, request: service_pb.GetResourcePresetRequest, caller: Caller) -> preset_pb.ResourcePreset:
        preset = PRESETS_BY_ID.get(request.resource_preset_id)
        if preset is None:
            raise NotFound(f"resource preset {request.resource_preset_id!r} does not exist")
        return preset_proto(preset)

    def list(
        self, request: service_pb.ListResourcePresetsRequest, caller: Caller
    ) -> service_pb.ListResourcePresetsResponse:
        page, token = page_of(PRESETS, request.page_size, request.page_token)
        return service_pb.ListResourcePresetsResponse(
            resource_presets=[preset_proto(p) for p in page], next_page_token=token
        )
