"""The `/_sim/` control surface: unauthenticated, served only by the simulator."""

from __future__ import annotations

import json
from typing import Any, Protocol

from smp.simulator import errors
from smp.simulator.asgi import LoggedRequest, Reply
from smp.simulator.faults import FaultRule, FaultSpecError, fault_from_dict
from smp.simulator.world import World, WorldError, parse_world


class Controlled(Protocol):
    """What the control surface reads and changes (the `Simulator`)."""

    requests: list[LoggedRequest]
    faults: list[FaultRule]
    world: World

    def replace_world(self, world: World) -> None: ...
    def add_fault(self, rule: FaultRule) -> FaultRule: ...
    def clear_faults(self) -> None: ...


def _json(status: int, body: object) -> Reply:
    return Reply(status, json.dumps(body, ensure_ascii=False).encode())


def control(sim: Controlled, method: str, path: str, body: bytes) -> Reply:
    if path == "/_sim/requests" and method == "GET":
        return _json(200, [entry.to_dict() for entry in sim.requests])
    if path == "/_sim/requests" and method == "DELETE":
        sim.requests.clear()
        return _json(200, {"cleared": True})
    if path == "/_sim/faults" and method == "GET":
        return _json(200, [rule.to_dict() for rule in sim.faults])
    if path == "/_sim/faults" and method == "DELETE":
        sim.clear_faults()
        return _json(200, {"cleared": True})
    if path == "/_sim/faults" and method == "POST":
        return _add_faults(sim, body)
    if path == "/_sim/world" and method == "POST":
        try:
            sim.replace_world(parse_world(json.loads(body)))
        except (WorldError, ValueError) as error:
            return _json(400, {"errors": [{"field": None, "message": str(error)}]})
        return _json(200, {"accounts": len(sim.world.accounts)})
    if path == "/_sim/world" and method == "GET":
        return Reply(200, sim.world.to_json().encode())
    return Reply(404, errors.NOT_FOUND)


def _add_faults(sim: Controlled, body: bytes) -> Reply:
    try:
        data: Any = json.loads(body)
        items = data if isinstance(data, list) else [data]
        rules = [fault_from_dict(item) for item in items]
    except (ValueError, TypeError, FaultSpecError) as error:
        return _json(400, {"errors": [{"field": None, "message": str(error)}]})
    for rule in rules:
        sim.add_fault(rule)
    return _json(200, [rule.to_dict() for rule in rules])
