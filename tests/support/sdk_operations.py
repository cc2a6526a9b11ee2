"""An operation waited for through the official SDK, with its response and metadata typed.

``SDK.wait_operation_and_get_result`` is annotated as returning a result *or* an
``OperationError`` with optional parts, though it raises the error and fills in what was
asked for; ``wait_result`` says so once, for every SDK test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import yandexcloud
from google.protobuf.message import Message
from yandex.cloud.operation.operation_pb2 import Operation
from yandexcloud.operations import OperationResult

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
