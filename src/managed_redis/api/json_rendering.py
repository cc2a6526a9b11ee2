"""proto3 JSON of responses, each message's JSON text written once per content.

``json_format.MessageToDict`` walks a message field by field in Python (~0.5 ms for one
``Cluster``), and a list response repeats that for every element on every request. Here the
text of a message is kept by the message's own bytes (``SerializeToString``, done in C in
~20 µs), and a response's top-level lists are spliced together from the kept texts of their
elements: a list of clusters that did not change costs a few string joins.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

KEPT = 2048


class JsonRenderer:
    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._texts: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, message: Message) -> str:
        """The response's proto3 JSON text (compact, then a newline)."""
        lists = [field for field, _ in message.ListFields() if _is_message_list(field)]
        if not lists:
            return self.text_of(message) + "\n"
        # The response less its lists, built from its other fields (copying the whole
        # response to clear its lists would copy every element once more).
        shell = type(message)()
        for field, value in message.ListFields():
            if field in lists:
                continue
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                getattr(shell, field.name).MergeFrom(value)
            elif field.is_repeated:
                getattr(shell, field.name).extend(value)
            elif field.message_type is not None:
                getattr(shell, field.name).CopyFrom(value)
            else:
                setattr(shell, field.name, value)
        # The shell's text is kept by its content too: a Get's Cluster (whose only list is
        # ``monitoring``) is otherwise walked field by field on every request.
        shell_text = self.text_of(shell)
        parts = [shell_text[1:-1]] if shell_text != "{}" else []
        for field in lists:
            items = ",".join(self.text_of(item) for item in getattr(message, field.name))
            parts.append(_dumps(field.json_name) + ":[" + items + "]")
        return "{" + ",".join(parts) + "}\n"

    def text_of(self, message: Message) -> str:
        """The proto3 JSON text of ``message``, kept by its content."""
        key = message.DESCRIPTOR.full_name.encode() + b"\0" + message.SerializeToString(deterministic=True)
        with self._lock:
            kept = self._texts.get(key)
            if kept is not None:
                self._texts.move_to_end(key)
                return kept
        text = _dumps(json_format.MessageToDict(message))
        with self._lock:
            self._texts[key] = text
            while len(self._texts) > self.kept:
                self._texts.popitem(last=False)
        return text


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_message_list(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return field.is_repeated and entry is not None and not entry.GetOptions().map_entry
