"""A fake Devino REST API (integrationapi.net/rest, v1 and v2) for tests and staging.

It serves `/rest/...` (v1, SessionID) and `/rest/v2/...` (v2, Login/Password) over one
`DevinoPlatform`: `user/sessionid`, `User/Balance`, `Sms/Send`, `Sms/SendBulk`, `Sms/State`
and `Sms/Statistics` (seed 004 chapters 1-2; spec devino-smpp-http-soap.md §2). The time-zone
sends, incoming SMS and Viber are not simulated: they answer 404.

As the spec's readings say: paths and parameter names match case-insensitively (A14),
parameters are read from the query string and the form body together (A13), a repeated scalar
takes its first value (A16), values are form-decoded so an unencoded `+` reads as a space
(A26), and errors are strict JSON `{"Code":..,"Desc":..}` with the HTTP status of Table 17
(A10). Dates in answers use the Microsoft JSON form `"\\/Date(ms)\\/"` (seed L743-749).

`build_app(**options)` returns the application; `app[SIM_KEY]` is the `DevinoPlatform` that
tests seed and inspect (options are its constructor keywords).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from dispatcher.provider_sim.devino_platform import (
    ERR_INTERNAL,
    ERR_INVALID_ARGUMENT,
    ERR_NULL_ARGUMENT,
    DevinoPlatform,
    PlatformError,
    parse_datetime,
)

SIM_KEY: Final = web.AppKey("devino_rest_platform", DevinoPlatform)

# seed L1386-1397: the HTTP status of each error code.
HTTP_STATUS: Final[dict[int, int]] = {
    1: 400,
    2: 400,
    3: 400,
    4: 401,
    5: 403,
    6: 400,
    7: 403,
    8: 500,
    9: 500,
}
# seed L1833-1836: at most 2999 recipients in one SendBulk.
BULK_MAX_RECIPIENTS: Final = 2999
# seed L942-945: "Нельзя указывать диапазон дат более 90 дней."
MAX_STATISTICS_DAYS: Final = 90
# seed L124-127: the headers of every answer.
_HEADERS: Final = {"Cache-Control": "private"}

Params = dict[str, list[str]]


class _Call:
    """One request: its version, its parameters, and the platform."""

    def __init__(self, platform: DevinoPlatform, version: int, params: Params) -> None:
        self.platform = platform
        self.version = version
        self.params = params

    def value(self, name: str) -> str | None:
        values = self.params.get(name.lower())
        return values[0] if values else None

    def required(self, name: str) -> str:
        value = self.value(name)
        if not value:
            # the wording of seed L762-765
            raise PlatformError(
                ERR_NULL_ARGUMENT, f"{name} can not be null or empty Parameter name: {name}"
            )
        return value

    def optional_int(self, name: str) -> int | None:
        value = self.value(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise PlatformError(ERR_INVALID_ARGUMENT, f"Invalid argument {name}") from None

    def login(self) -> str:
        """The account: v1 by SessionID (seed L719), v2 by Login and Password (L1527)."""
        if self.version == 1:
            return self.platform.session_login(self.required("SessionID"))
        login = self.required("Login")
        self.platform.check_credentials(login, self.required("Password"))
        return login


Handler = Callable[[_Call], Awaitable[Any]]


async def _session_id(call: _Call) -> Any:
    # seed L85: user/sessionid?login=..&password=..; v1 only.
    return call.platform.open_session(call.required("Login"), call.required("Password"))


async def _balance(call: _Call) -> Any:
    call.login()
    return round(call.platform.balance, 2)  # seed L1554: a bare number, e.g. 20015.3


async def _send(call: _Call) -> Any:
    # seed L204-322: one DestinationAddress.
    login = call.login()
    return await _submit(call, login, [call.required("DestinationAddress")])


async def _send_bulk(call: _Call) -> Any:
    # seed L441-556: DestinationAddresses repeated, at most 2999 (L1833-1836).
    login = call.login()
    destinations = [d for d in call.params.get("destinationaddresses", []) if d]
    if not destinations:
        call.required("DestinationAddresses")
    if len(destinations) > BULK_MAX_RECIPIENTS:
        raise PlatformError(ERR_INVALID_ARGUMENT, f"At most {BULK_MAX_RECIPIENTS} recipients")
    return await _submit(call, login, destinations)


async def _submit(call: _Call, login: str, destinations: list[str]) -> Any:
    source, data = call.required("SourceAddress"), call.required("Data")
    validity = call.optional_int("Validity")
    send_date = call.value("SendDate")
    if send_date:
        try:
            parse_datetime(send_date)
        except ValueError:
            raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument SendDate") from None
    ids = call.platform.submit(
        login, source, destinations, data, validity, numeric_ids=call.version == 1
    )
    await call.platform.hang_if_asked()
    return ids


async def _state(call: _Call) -> Any:
    # seed L729-749: the answer fields; one segment per request.
    login = call.login()
    state = call.platform.state(login, call.required("messageId"))
    return {
        "State": state.code,
        "CreationDateUtc": _ms_date(state.created_wall),
        "SubmittedDateUtc": _ms_date(state.submitted_wall),
        "ReportedDateUtc": _ms_date(state.reported_wall),
        # seed L745: "no value" is .NET DateTime.MinValue
        "TimeStampUtc": _ms_date(state.reported_wall) or _ms_date(-62135596800.0),
        "StateDescription": state.description,
        "Price": state.price,
    }


async def _statistics(call: _Call) -> Any:
    # seed L869-945
    login = call.login()
    try:
        start = parse_datetime(call.required("startDateTime"))
        end = parse_datetime(call.required("endDateTime"))
    except ValueError:
        raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument") from None
    if end < start or end - start > timedelta(days=MAX_STATISTICS_DAYS):
        raise PlatformError(
            ERR_INVALID_ARGUMENT, f"Нельзя указывать диапазон дат более {MAX_STATISTICS_DAYS} дней."
        )
    counts = call.platform.statistics(login, start, end)
    total = sum(counts.values())
    return {
        **counts,
        "Total": total,
        "TotalWithErrors": total,
        "DeliveryRatio": round(counts["Delivered"] / total, 4) if total else 0,
    }


# lower-cased resource -> (HTTP method, operation name for injected failures, handler, versions)
_ROUTES: Final[dict[str, tuple[str, str, Handler, tuple[int, ...]]]] = {
    "user/sessionid": ("GET", "auth", _session_id, (1,)),
    "user/balance": ("GET", "balance", _balance, (1, 2)),
    "sms/send": ("POST", "send", _send, (1, 2)),
    "sms/sendbulk": ("POST", "send", _send_bulk, (1, 2)),
    "sms/state": ("GET", "state", _state, (1, 2)),
    "sms/statistics": ("GET", "statistics", _statistics, (1, 2)),
}


def build_app(platform: DevinoPlatform | None = None, **options: Any) -> web.Application:
    """The fake's application; `options` are `DevinoPlatform`'s keyword arguments."""
    state = platform if platform is not None else DevinoPlatform(**options)
    app = web.Application()
    app[SIM_KEY] = state

    async def dispatch(request: web.Request) -> web.StreamResponse:
        version, resource = _version_and_resource(request.path)
        route = _ROUTES.get(resource)
        if version is None or route is None or version not in route[3]:
            raise web.HTTPNotFound()
        method, operation, handler, _ = route
        if request.method != method:
            return _error(
                405,
                ERR_INTERNAL,
                f"The requested resource does not support http method '{request.method}'.",
            )
        state.record("rest", operation)
        try:
            state.take_injected(operation)
            answer = await handler(_Call(state, version, await _params(request)))
        except PlatformError as error:
            return _error(HTTP_STATUS.get(error.code, 500), error.code, error.description)
        return _json(200, answer)

    async def release(_: web.Application) -> None:
        state.release_hung()

    app.router.add_route("*", "/{tail:.*}", dispatch)
    app.on_shutdown.append(release)
    return app


def _version_and_resource(path: str) -> tuple[int | None, str]:
    path = path.lower().strip("/")
    if path.startswith("rest/v2/"):
        return 2, path.removeprefix("rest/v2/")
    if path.startswith("rest/"):
        return 1, path.removeprefix("rest/")
    return None, path


async def _params(request: web.Request) -> Params:
    """Query string and form body together, names lower-cased, standard form decoding."""
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        pairs += parse_qsl(await request.text(), keep_blank_values=True)
    params: Params = {}
    for name, value in pairs:
        params.setdefault(name.lower(), []).append(value)
    return params


def _ms_date(unix_seconds: float | None) -> str | None:
    return None if unix_seconds is None else f"/Date({round(unix_seconds * 1000)})/"


def _json(status: int, answer: Any) -> web.Response:
    # .NET writes "\/Date(..)\/" with escaped slashes (seed L743-749); json.dumps does not.
    text = (
        json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        .replace('"/Date(', '"\\/Date(')
        .replace(')/"', ')\\/"')
    )
    return web.Response(
        status=status, text=text, content_type="application/json", charset="utf-8", headers=_HEADERS
    )


def _error(status: int, code: int, description: str) -> web.Response:
    return _json(status, {"Code": code, "Desc": description})
