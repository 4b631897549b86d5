"""A fake Devino HLR HTTP API (seed 004 chapter 16, L9663-9769) for tests and staging.

It is the fake REST API (`devino_rest`) with two more resources: `Hlr/SendBulk` (POST, at most
200 numbers in repeated `DestinationAddresses`, `Validity` in minutes; one string id per
number) and `Hlr/State` (GET, repeated `messageIds`), under `/rest/` with a SessionID and under
`/rest/v2/` with Login and Password (L9672-9678), so the REST client's session logs in against
the same fake. A lookup is pending (StateCode 0) for `pending_seconds`, then answers the
number's state (`SEEDED_STATES`; every other number is available). A number that is not one
refuses the whole request (Code 2), as the platform refuses bulk SMS (seed L1084-1085).
`broken_json=True` prints `State` answers as the seed does (L9752-9760): no commas after the
id, a trailing comma.

`build_app(**options)` returns the application; `app[HLR_KEY]` is the `HlrSim` and
`app[devino_rest.SIM_KEY]` the `DevinoPlatform` (options go to the platform, `hlr_options` to
the HLR simulator).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from dispatcher.clock import Clock
from dispatcher.provider_sim import devino_rest
from dispatcher.provider_sim.devino_platform import (
    ERR_INVALID_ARGUMENT,
    DevinoPlatform,
    PlatformError,
    normalise_number,
)
from dispatcher.provider_sim.devino_rest import RestCall, Route

MAX_NUMBERS: Final = 200  # seed L9701-9704
# seed L9762-9769, the StateCode table with its texts.
STATE_TEXTS: Final[dict[int, str]] = {
    0: "Отправляется",
    1: "Абонент доступен",
    2: "Абонент временно недоступен",
    3: "Абонент не существует",
    4: "Ошибка запроса",
    99: "Неизвестно",
}
# Staging numbers with their HLR state; every other valid number is available (1).
SEEDED_STATES: Final[dict[str, int]] = {
    "79990000202": 2,
    "79990000203": 3,
    "79990000204": 4,
    "79990000299": 99,
}
DEFAULT_PENDING_SECONDS: Final = 2.0  # our choice
FIRST_ID: Final = 703112828852109312  # seed L9715
COUNTRY: Final = "Россия"  # seed L9757
OPERATOR: Final = "ОАО Вымпел-Коммуникации(Москва)"  # seed L9758


@dataclass
class HlrLookup:
    id: str
    login: str
    number: str  # normalised, 7XXXXXXXXXX
    created: float  # clock seconds


@dataclass
class HlrSim:
    clock: Clock
    pending_seconds: float = DEFAULT_PENDING_SECONDS
    states: dict[str, int] = field(default_factory=lambda: dict(SEEDED_STATES))
    broken_json: bool = False
    lookups: dict[str, HlrLookup] = field(default_factory=dict, repr=False)
    bulk_sizes: list[int] = field(default_factory=list)  # numbers per SendBulk request
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(FIRST_ID))

    def send_bulk(self, login: str, numbers: list[str], validity: int | None) -> list[str]:
        if not numbers:
            raise PlatformError(1, "DestinationAddresses can not be null or empty")
        if validity is None:
            raise PlatformError(1, "Validity can not be null or empty")  # seed L9708: required
        if len(numbers) > MAX_NUMBERS:
            raise PlatformError(ERR_INVALID_ARGUMENT, f"At most {MAX_NUMBERS} numbers")
        normalised = []
        for raw in numbers:
            number = normalise_number(raw)
            if number is None:
                raise PlatformError(ERR_INVALID_ARGUMENT, f"Invalid destination address {raw}")
            normalised.append(number)
        self.bulk_sizes.append(len(numbers))
        ids = []
        for number in normalised:
            lookup = HlrLookup(str(next(self._ids)), login, number, self.clock.monotonic())
            self.lookups[lookup.id] = lookup
            ids.append(lookup.id)
        return ids

    def state(self, login: str, ids: list[str]) -> list[dict[str, Any]]:
        """seed L9735-9760: one record per known id of this account; others are left out."""
        records = []
        for lookup_id in ids:
            lookup = self.lookups.get(lookup_id)
            if lookup is None or lookup.login != login:
                continue
            pending = self.clock.monotonic() - lookup.created < self.pending_seconds
            code = 0 if pending else self.states.get(lookup.number, 1)
            records.append(
                {
                    "messageId": lookup.id,
                    "DestinationAddress": f"+{lookup.number}",
                    "StateCode": code,
                    "StateDesc": STATE_TEXTS[code],
                    "Country": COUNTRY,
                    "MobileOperator": OPERATOR,
                }
            )
        return records


HLR_KEY: Final = web.AppKey("devino_hlr", HlrSim)


def hlr_routes(hlr: HlrSim) -> dict[str, Route]:
    async def send_bulk(call: RestCall) -> Any:
        login = call.login()
        numbers = [n for n in call.params.get("destinationaddresses", []) if n.strip()]
        return hlr.send_bulk(login, numbers, call.optional_int("Validity"))

    async def state(call: RestCall) -> Any:
        login = call.login()
        ids = [i.strip() for i in call.params.get("messageids", []) if i.strip()]
        if not ids:
            call.required("messageIds")
        records = hlr.state(login, ids)
        return _like_seed(records) if hlr.broken_json else records

    return {
        "hlr/sendbulk": ("POST", "hlr_send", send_bulk, (1, 2)),
        "hlr/state": ("GET", "hlr_state", state, (1, 2)),
    }


def build_app(
    platform: DevinoPlatform | None = None,
    *,
    hlr: HlrSim | None = None,
    hlr_options: dict[str, Any] | None = None,
    **options: Any,
) -> web.Application:
    state = platform if platform is not None else DevinoPlatform(**options)
    simulator = hlr if hlr is not None else HlrSim(state.clock, **(hlr_options or {}))
    app = devino_rest.build_app(state, extra_routes=hlr_routes(simulator))
    app[HLR_KEY] = simulator
    return app


def _like_seed(records: list[dict[str, Any]]) -> web.Response:
    """seed L9752-9760: no comma after "messageId", a comma after the last field."""
    objects = []
    for record in records:
        lines = [
            f'"{key}" : {json.dumps(value, ensure_ascii=False)}' for key, value in record.items()
        ]
        objects.append("{\n" + lines[0] + "\n" + ",\n".join(lines[1:]) + ",\n}")
    return web.Response(
        text="[" + ",".join(objects) + "]", content_type="application/json", charset="utf-8"
    )
