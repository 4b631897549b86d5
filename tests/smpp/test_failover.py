"""Primary and backup hosts: fail over after a failed attempt, move back when the primary
answers again, one slot at a time."""

from __future__ import annotations

from dispatcher.smpp import OutcomeKind

from .conftest import SYSTEM_ID, PoolFactory, SimFactory, account, request, wait_for


async def free_port(make_sim: SimFactory) -> int:
    placeholder = await make_sim()
    await placeholder.stop()
    return placeholder.port


async def test_fail_over_to_the_backup_and_back_to_the_primary(
    make_sim: SimFactory, make_pool: PoolFactory
) -> None:
    primary_port = await free_port(make_sim)
    backup = await make_sim()
    settings = account(primary_port, backup.port, binds=["tx", "trx"], primary_probe_interval=30.0)
    pool = await make_pool(settings)
    started = backup.clock.monotonic()
    await wait_for(lambda: backup.bound_count(SYSTEM_ID) == 2)
    # the primary refused TCP: 90 s before the next attempt, which goes to the backup
    assert min(c.time for c in backup.recording.connections) - started >= 90.0
    assert (await pool.send(request("via-backup"))).kind is OutcomeKind.ACCEPTED

    primary = await make_sim(port=primary_port)
    await wait_for(lambda: primary.bound_count(SYSTEM_ID) == 2 and pool.bound_sessions == 2)
    assert backup.bound_count(SYSTEM_ID) == 0
    assert {info.port for info in pool.sessions} == {primary_port}
    backup_sessions = backup.recording.sessions
    assert all(s.pdus_received >= 2 for s in backup_sessions)  # bind ... unbind
    primary_binds = sorted(b.time for b in primary.recording.binds if b.ok)
    closed = sorted(s.closed or 0.0 for s in backup_sessions)
    # one slot at a time: the second left the backup only once the first was on the primary
    assert closed[1] >= primary_binds[0]
    # each moved after the 60 s wait that follows any session's end (seed L2928-2929)
    assert all(bind - close >= 60.0 for close, bind in zip(closed, primary_binds, strict=True))
    assert (await pool.send(request("via-primary"))).kind is OutcomeKind.ACCEPTED
    assert primary.recording.submits[0].destination_addr == "79031234567"
