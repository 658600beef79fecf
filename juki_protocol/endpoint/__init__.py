"""The sans-I/O PDU endpoint (DESIGN.md section 2): the rules of the PDU path without
sockets, clocks or a database driver. See :mod:`juki_protocol.endpoint.endpoint`."""

from juki_protocol.endpoint.endpoint import (
    NOT_THE_PEERS,
    Answer,
    Endpoint,
    Opened,
    Refusal,
    Refused,
    Reloaded,
    Step,
    Taken,
)
from juki_protocol.endpoint.frames import PROTOCOL_VERSION, Numbering, message_type_of, result_text
from juki_protocol.endpoint.interfaces import Owned, Role, Store, is_storage_failure

__all__ = ["NOT_THE_PEERS", "PROTOCOL_VERSION", "Answer", "Endpoint", "Numbering", "Opened",
           "Owned", "Refusal", "Refused", "Reloaded", "Role", "Step", "Store", "Taken",
           "is_storage_failure", "message_type_of", "result_text"]
