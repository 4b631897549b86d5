"""From the configuration file's account table to the SMPP engine's settings."""

from __future__ import annotations

import ssl

from dispatcher.config import SmppAccountConfig
from dispatcher.smpp.settings import AccountSettings


def account_settings(
    name: str, account: SmppAccountConfig, *, query_rate: float
) -> AccountSettings:
    return AccountSettings(
        name=name,
        system_id=account.system_id,
        password=account.password.get_secret_value(),
        hosts=tuple(account.hosts),
        binds=tuple(account.binds),
        window=account.window,
        response_timeout=account.response_timeout,
        bind_timeout=account.bind_timeout,
        enquire_link_idle=account.enquire_link_idle,
        enquire_link_timeout=account.enquire_link_timeout,
        reconnect_delay=account.reconnect_delay,
        reconnect_failed_delay=account.reconnect_failed_delay,
        throttle_pause=account.throttle_pause,
        queue_full_max_attempts=account.queue_full_max_attempts,
        source_ton=account.source_ton,
        source_npi=account.source_npi,
        numeric_source_ton=account.numeric_source_ton,
        dest_ton=account.dest_ton,
        dest_npi=account.dest_npi,
        registered_delivery=account.registered_delivery,
        rate_limit=account.rate_limit,
        query_rate_limit=query_rate if query_rate > 0 else 1.0,
        max_queue=account.max_queue,
        status_overrides={int(code, 0): action for code, action in account.status_policy.items()},
        tls=ssl.create_default_context() if account.tls else None,
    )
