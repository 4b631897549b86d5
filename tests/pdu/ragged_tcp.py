"""A byte stream as a session reads it: served over real TCP on 127.0.0.1 in writes of 1-700
octets (some drained, some not) and read back in reads of 1-4096 octets."""

from __future__ import annotations

import asyncio
import random


async def ragged_reads(stream: bytes, rng: random.Random) -> list[bytes]:
    """The chunks `stream` arrives in, in order (they join to `stream`)."""

    async def write_ragged(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        position = 0
        while position < len(stream):
            size = rng.randint(1, 700)
            writer.write(stream[position : position + size])
            position += size
            if rng.random() < 0.1:
                await writer.drain()
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(write_ragged, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunks: list[bytes] = []
    while chunk := await reader.read(rng.randint(1, 4096)):
        chunks.append(chunk)
    writer.close()
    server.close()
    await server.wait_closed()
    return chunks
