"""Serial link to a device running tinygen firmware: transport (pyserial URLs, deadlines), framing
(COBS + CRC-32, pure functions), request/response protocol (seq numbers, retries in one place), and
the HIL commands on top. The wire format is documented in docs/protocol.md."""

from .device import Device, DeviceInfo, InvokeResult, TensorInfo
from .errors import DeviceReset, LinkClosed, LinkTimeout, ProtocolError
from .protocol import Link, LinkConfig
from .transport import Transport

__all__ = ["Device", "DeviceInfo", "InvokeResult", "TensorInfo", "DeviceReset", "LinkClosed", "LinkTimeout",
           "ProtocolError", "Link", "LinkConfig", "Transport"]
