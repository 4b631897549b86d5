"""HTTP plumbing shared by the provider clients: one pooled aiohttp session with TLS
verification on and a timeout on everything, and an XML parser that refuses entity expansion.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
import defusedxml.ElementTree as SafeET

DEFAULT_TIMEOUT_SECONDS = 30.0


def new_session(
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, *, connections: int = 16
) -> aiohttp.ClientSession:
    """A pooled client session; certificates are always verified (aiohttp's default)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_seconds, connect=min(10.0, timeout_seconds)),
        connector=aiohttp.TCPConnector(limit=connections, ttl_dns_cache=300),
        raise_for_status=False,
    )


def parse_xml(data: bytes | str) -> ET.Element:
    """Parse untrusted XML; DTDs, entity expansion and external references are refused."""
    root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    return root
