"""A fake Devino REST API (integrationapi.net/rest, v1 and v2) for tests and staging.

It serves `/rest/...` (v1, SessionID) and `/rest/v2/...` (v2, Login/Password) over one
`DevinoPlatform`: `user/sessionid`, `User/Balance`, `Sms/Send`, `Sms/SendBulk`, `Sms/State`,
`Sms/Statistics`, `Sms/In`, `Viber/Send`, `Viber/SendBulk`, `Viber/SendWithResend`,
`Viber/SendWithResendBulk` and `Viber/State` (seed 004 chapters 1-2; spec
devino-smpp-http-soap.md §2). The time-zone sends are not simulated: they answer 404. Other
services of the same API (HLR, `devino_hlr`) plug in with `build_app(extra_routes=...)`.

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
    RESENT_SMS_STATES,
    DevinoPlatform,
    PlatformError,
    parse_datetime,
)
from dispatcher.provider_sim.viber_lifecycle import (
    DELIVERED,
    ENQUEUED,
    FAILED,
    READ,
    SENT,
    UNDELIVERED,
    VISITED,
    VP_EXPIRED,
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
# The Viber states (seed L1416-1427) the fake reports.
VIBER_STATE_CODES: Final[dict[str, int]] = {
    ENQUEUED: 0,
    SENT: 1,
    DELIVERED: 2,
    READ: 3,
    UNDELIVERED: 4,
    FAILED: 5,
    VP_EXPIRED: 7,
    VISITED: 8,
}
VIBER_STATE_TEXTS: Final[dict[int, str]] = {
    0: "Отправляется",
    1: "Отправлено",
    2: "Доставлено (не прочитано)",
    3: "Доставлено (прочитано)",
    4: "Не доставлено",
    5: "Ошибка",
    6: "Неизвестно",
    7: "Просрочено",
    8: "Переход по ссылке",
}

Params = dict[str, list[str]]


class RestCall:
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


Handler = Callable[[RestCall], Awaitable[Any]]
# lower-cased resource -> (HTTP method, operation name for injected failures, handler, versions)
Route = tuple[str, str, Handler, tuple[int, ...]]


async def _session_id(call: RestCall) -> Any:
    # seed L85: user/sessionid?login=..&password=..; v1 only.
    return call.platform.open_session(call.required("Login"), call.required("Password"))


async def _balance(call: RestCall) -> Any:
    call.login()
    return round(call.platform.balance, 2)  # seed L1554: a bare number, e.g. 20015.3


async def _send(call: RestCall) -> Any:
    # seed L204-322: one DestinationAddress.
    login = call.login()
    return await _submit(call, login, [call.required("DestinationAddress")])


async def _send_bulk(call: RestCall) -> Any:
    # seed L441-556: DestinationAddresses repeated, at most 2999 (L1833-1836).
    login = call.login()
    destinations = [d for d in call.params.get("destinationaddresses", []) if d]
    if not destinations:
        call.required("DestinationAddresses")
    if len(destinations) > BULK_MAX_RECIPIENTS:
        raise PlatformError(ERR_INVALID_ARGUMENT, f"At most {BULK_MAX_RECIPIENTS} recipients")
    return await _submit(call, login, destinations)


async def _submit(call: RestCall, login: str, destinations: list[str]) -> Any:
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


async def _state(call: RestCall) -> Any:
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


async def _statistics(call: RestCall) -> Any:
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


async def _incoming(call: RestCall) -> Any:
    # seed L778-867: Data, SourceAddress, DestinationAddress, ID, CreatedDateUtc.
    login = call.login()
    start, end = call.value("minDateUTC"), call.value("maxDateUTC")
    try:
        low = parse_datetime(start) if start else None
        high = parse_datetime(end) if end else None
    except ValueError:
        raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument") from None
    return [
        {
            "Data": m.text,
            "SourceAddress": m.source,
            "DestinationAddress": m.destination,
            "ID": m.id,
            "CreatedDateUtc": _ms_date(m.created_wall),
        }
        for m in call.platform.incoming_between(login, low, high)
    ]


def _viber_send(*, bulk: bool, resend: bool) -> Handler:
    # seed L952-1303 (R10-R13): the parameters of Sms/Send and Sms/SendBulk, Validity in
    # minutes and an Optional(s) the platform keeps to itself.
    async def send(call: RestCall) -> Any:
        login = call.login()
        if bulk:
            destinations = [d for d in call.params.get("destinationaddresses", []) if d]
            if not destinations:
                call.required("DestinationAddresses")
        else:
            destinations = [call.required("DestinationAddress")]
        source, data = call.required("SourceAddress"), call.required("Data")
        return call.platform.submit_viber(
            login, source, destinations, data, call.optional_int("Validity"), resend=resend
        )

    return send


async def _viber_state(call: RestCall) -> Any:
    # seed L1323-1348: the Viber state and the SMS re-sent in its place.
    login = call.login()
    view = call.platform.viber_state(login, call.required("messageId"))
    if view is None:  # seed L1319-1320: the message id is checked
        raise PlatformError(ERR_INVALID_ARGUMENT, "Invalid argument messageId")
    code = VIBER_STATE_CODES.get(view.state, 6)
    return {
        "State": code,
        "CreationDateUtc": None,
        "SubmittedDateUtc": None,
        "ReportedDateUtc": _ms_date(view.changed_wall),
        "TimeStampUtc": _ms_date(view.changed_wall),
        "StateDescription": VIBER_STATE_TEXTS[code],
        "Price": 1.0,
        "ResentSms": [
            {
                "State": RESENT_SMS_STATES[state],
                "TimeStampUtc": _ms_date(view.sms_changed_wall),
                "Price": 1.0,
                "Id": sms_id,
            }
            for sms_id, state in view.sms
        ],
    }


_ROUTES: Final[dict[str, Route]] = {
    "user/sessionid": ("GET", "auth", _session_id, (1,)),
    "user/balance": ("GET", "balance", _balance, (1, 2)),
    "sms/send": ("POST", "send", _send, (1, 2)),
    "sms/sendbulk": ("POST", "send", _send_bulk, (1, 2)),
    "sms/state": ("GET", "state", _state, (1, 2)),
    "sms/statistics": ("GET", "statistics", _statistics, (1, 2)),
    "sms/in": ("GET", "incoming", _incoming, (1, 2)),
    "viber/send": ("POST", "viber_send", _viber_send(bulk=False, resend=False), (1, 2)),
    "viber/sendbulk": ("POST", "viber_send", _viber_send(bulk=True, resend=False), (1, 2)),
    "viber/sendwithresend": ("POST", "viber_send", _viber_send(bulk=False, resend=True), (1, 2)),
    "viber/sendwithresendbulk": (
        "POST",
        "viber_send",
        _viber_send(bulk=True, resend=True),
        (1, 2),
    ),
    "viber/state": ("GET", "viber_state", _viber_state, (1, 2)),
}


def build_app(
    platform: DevinoPlatform | None = None,
    *,
    extra_routes: dict[str, Route] | None = None,
    **options: Any,
) -> web.Application:
    """The fake's application; `options` are `DevinoPlatform`'s keyword arguments.
    `extra_routes` (lower-cased resource -> route) serve other services of the same API; a
    handler may return a ready `web.Response` instead of a value to write as JSON."""
    state = platform if platform is not None else DevinoPlatform(**options)
    routes = {**_ROUTES, **(extra_routes or {})}
    app = web.Application()
    app[SIM_KEY] = state

    async def dispatch(request: web.Request) -> web.StreamResponse:
        version, resource = _version_and_resource(request.path)
        route = routes.get(resource)
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
            answer = await handler(RestCall(state, version, await _params(request)))
        except PlatformError as error:
            return _error(HTTP_STATUS.get(error.code, 500), error.code, error.description)
        if isinstance(answer, web.StreamResponse):
            return answer
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
