"""`smpp-dispatcher hlr --config FILE (NUMBERS... | --file F)`: ask the network about numbers
(Devino HLR, seed 004 chapter 16), store the results, print them.

    NUMBER        VERDICT      STATE  COUNTRY  OPERATOR  DESCRIPTION
    79161002030   alive        1      Россия   МТС       Абонент доступен
    79990000203   dead         3                         Абонент не существует

The numbers go out 200 per request (seed L9701-9704) and are polled until each has a result
or the lookup's validity (`hlr.validity_minutes`) passed. Results are stored in
`dispatcher_hlr` (the latest per number, digits only), where routes with
`skip_dead_numbers = true` find them. The provider is `hlr.provider`, or the only Devino REST
provider configured. `--file` reads one number per line (blank lines and `#` comments are
skipped). Exit status 0 when every number got an answer, 1 otherwise, 2 for bad arguments or
a provider that refuses the account.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from dispatcher.commands.outbox_access import CommandError
from dispatcher.commands.provider_clients import (
    USAGE_EXIT,
    add_config_argument,
    read_config,
    sms_clients,
)
from dispatcher.commands.text_table import text_table
from dispatcher.config import HLR_PROVIDER_TYPES, Config
from dispatcher.fallback.base import ChannelError
from dispatcher.fallback.devino_hlr import DevinoHlrClient, HlrResult, NumberVerdict, RestApi
from dispatcher.outbox.hlr import HlrRecord
from dispatcher.outbox.store import OutboxStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("numbers", nargs="*", metavar="NUMBER",
                        help="numbers in international format")
    parser.add_argument("--file", help="a file with one number per line")


def run(args: argparse.Namespace) -> int:
    try:
        numbers = list(args.numbers) + (read_numbers(Path(args.file)) if args.file else [])
        if not numbers:
            raise CommandError("give numbers as arguments or with --file", USAGE_EXIT)
        config = read_config(args.config)
        results = asyncio.run(look_up(config, numbers))
    except CommandError as error:
        print(f"hlr: {error}", file=sys.stderr)
        return error.exit_code
    print(render(results))
    unanswered = {NumberVerdict.UNKNOWN, NumberVerdict.INVALID, NumberVerdict.PENDING}
    return 1 if any(r.verdict in unanswered for r in results) else 0


def read_numbers(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}", USAGE_EXIT) from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def hlr_provider(config: Config) -> str:
    if config.hlr.provider is not None:
        return config.hlr.provider
    capable = config.providers_of(HLR_PROVIDER_TYPES)
    if len(capable) != 1:
        raise CommandError(
            "set hlr.provider: " + (f"several providers can do HLR ({', '.join(capable)})"
                                    if capable else "no devino_rest provider is configured"),
            USAGE_EXIT)
    return capable[0]


async def look_up(config: Config, numbers: Sequence[str]) -> list[HlrResult]:
    """Look the numbers up and store what came back."""
    provider = hlr_provider(config)
    async with sms_clients(config, [provider]) as clients:
        rest: RestApi = clients[provider]  # type: ignore[assignment]
        client = DevinoHlrClient(rest, validity_minutes=config.hlr.validity_minutes)
        try:
            results = await client.lookup(numbers)
        except ChannelError as error:
            raise CommandError(f"{provider}: {error}", USAGE_EXIT) from None
    store = await OutboxStore.open(config.database.dsn.get_secret_value())
    try:
        await store.store_hlr(records(provider, results))
    finally:
        await store.close()
    return results


def records(provider: str, results: Sequence[HlrResult]) -> list[HlrRecord]:
    """The results worth keeping: every number with digits and an answer."""
    kept = []
    for result in results:
        digits = "".join(c for c in result.number if c.isdigit())
        if not digits or result.verdict is NumberVerdict.PENDING:
            continue
        kept.append(HlrRecord(number=digits, verdict=result.verdict.value, provider=provider,
                              state_code=result.state_code, description=result.description,
                              country=result.country, operator=result.operator))
    return kept


def render(results: Sequence[HlrResult]) -> str:
    return text_table(("NUMBER", "VERDICT", "STATE", "COUNTRY", "OPERATOR", "DESCRIPTION"),
                 [(r.number, r.verdict.value, r.state_code, r.country, r.operator,
                   r.description) for r in results])
