"""A SendGrid v3 simulator, faithful to the official OpenAPI specs.

It imports nothing else from smp, so it cannot share a mistake with the client.
"""

from __future__ import annotations

from smp.simulator.app import Simulator
from smp.simulator.asgi import LoggedRequest
from smp.simulator.faults import (
    FAULT_KINDS,
    FaultRule,
    FaultSpecError,
    parse_fault_spec,
)
from smp.simulator.generate import generate_world
from smp.simulator.scopes import KEY_KINDS
from smp.simulator.world import Account, SimKey, Subuser, World, WorldError, load_world

__all__ = [
    "FAULT_KINDS",
    "KEY_KINDS",
    "Account",
    "FaultRule",
    "FaultSpecError",
    "LoggedRequest",
    "SimKey",
    "Simulator",
    "Subuser",
    "World",
    "WorldError",
    "generate_world",
    "load_world",
    "parse_fault_spec",
]
