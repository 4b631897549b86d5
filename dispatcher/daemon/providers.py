"""Build the fallback senders named in the configuration (`[providers.NAME]`)."""

from __future__ import annotations

from typing import Any

from dispatcher.clock import Clock
from dispatcher.config import ProviderConfig
from dispatcher.fallback.base import FallbackSender
from dispatcher.fallback.devino_auth import DevinoCredentials
from dispatcher.fallback.devino_rest import DevinoRestV1Sender, DevinoRestV2Sender
from dispatcher.fallback.devino_soap import DevinoSoapV1Sender, DevinoSoapV2Sender
from dispatcher.fallback.devino_xml import DevinoXmlSender
from dispatcher.fallback.mobipace import MobipaceSender
from dispatcher.fallback.webcom import WebcomSender

_DEVINO: dict[str, type[DevinoRestV1Sender | DevinoRestV2Sender | DevinoSoapV1Sender
                         | DevinoSoapV2Sender]] = {
    "devino_rest": DevinoRestV1Sender,
    "devino_rest_v2": DevinoRestV2Sender,
    "devino_soap": DevinoSoapV1Sender,
    "devino_soap_v2": DevinoSoapV2Sender,
}


def build_sender(name: str, provider: ProviderConfig, clock: Clock) -> FallbackSender:
    """The client for one configured provider; its `name` is what the outbox row records."""
    common: dict[str, Any] = {"name": name, "clock": clock}
    if (base_url := provider.option("base_url")) is not None:
        common["base_url"] = base_url
    if (timeout := provider.option("timeout")) is not None:
        common["timeout_seconds"] = float(timeout)

    def required(key: str) -> str:
        value = provider.option(key)
        if value is None:  # ProviderConfig checked it already; this keeps the types honest
            raise ValueError(f"providers.{name}.{key}: required key is missing")
        return value

    if provider.type in _DEVINO:
        credentials = DevinoCredentials(required("login"), required("password"))
        return _DEVINO[provider.type](credentials, **common)
    if provider.type == "devino_xml":
        return DevinoXmlSender(login=required("login"), password=required("password"),
                               **common)
    if provider.type == "mobipace":
        return MobipaceSender(username=required("username"), password=required("password"),
                              **common)
    return WebcomSender(login=provider.option("login"), password=provider.option("password"),
                        token=provider.option("token"), **common)
