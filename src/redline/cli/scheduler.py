"""``redline check-urls`` and ``redline worker``: liveness checks and the scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.cli.root import app
from redline.config import get_settings
from redline.store.media import media_store

AllowHost = Annotated[
    list[str] | None,
    typer.Option("--allow-host", help="host:port that may be private (a test server; repeat)."),
]


@app.command("check-urls")
def check_urls(allow_host: AllowHost = None, as_json: JsonFlag = False) -> None:
    """Re-check every referred URL now (SSRF-safe: private addresses are refused)."""
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.model.base import utcnow

    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (_settings, engine):
        statuses = scheduler.check_referrals(engine, utcnow(), check, timedelta(0))
    if as_json:
        _print_json({str(k): v for k, v in statuses.items()})
        return
    for referral_id, status in statuses.items():
        out.print(f"referral {referral_id}: {status}")
    out.print(f"{len(statuses)} URL(s) checked")


QUEUE_NAMES = ("hashing", "matching", "text", "actions")


def _queues(value: str | None) -> list[str]:
    if value is None:
        return list(QUEUE_NAMES)
    wanted = [q.strip() for q in value.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUE_NAMES]
    if unknown or not wanted:
        raise typer.BadParameter(
            f"unknown queue {unknown[0]!r}" if unknown else "no queue named",
            param_hint="--queues",
        )
    return list(dict.fromkeys(wanted))


@app.command(
    epilog="Example: redline worker --queues hashing,matching --concurrency 2 (with"
    " REDLINE_BROKER_URL=amqp://guest:guest@localhost:5672//)"
)
def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            help="With a broker: the queues to take work from, separated by commas: hashing,"
            " matching, text, actions (the scheduler's tick). Default: all.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="With a broker: processes (default: one per core)."),
    ] = None,
    beat: Annotated[
        bool | None,
        typer.Option(
            "--beat/--no-beat",
            help="With a broker: also send the scheduler's tick (run it on one worker only)."
            " Default: when this worker takes the actions queue.",
            show_default=False,
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[int, typer.Option(min=5, help="Seconds between rounds.")] = 60,
    check_hours: Annotated[
        float, typer.Option(min=0.1, help="Re-check each referred URL this often.")
    ] = 6.0,
    allow_host: AllowHost = None,
) -> None:
    """With REDLINE_BROKER_URL set, a Celery worker: it hashes, matches and scores the items
    sent to it (by the items API, `redline ingest` and `redline scan`) and runs the scheduler.
    Without a broker, the scheduler in this process: removal-order and complaint alerts,
    preservation purges, liveness checks (items are processed where they are submitted)."""
    import time
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.exchanges import run as exchange_run
    from redline.model.base import utcnow

    chosen = _queues(queues)
    broker = get_settings().broker_url
    if not broker and (queues is not None or concurrency is not None or beat is not None):
        raise typer.BadParameter(
            "needs REDLINE_BROKER_URL (a RabbitMQ or Redis broker)",
            param_hint="--queues/--concurrency/--beat",
        )
    if broker and not once:
        from redline.tasks import run_worker

        with _store() as (settings, _engine):
            pass
        run_worker(settings, chosen, concurrency, beat if beat is not None else "actions" in chosen)
        return
    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (settings, engine):
        while True:
            done = scheduler.tick(
                engine,
                media_store(settings),
                utcnow(),
                check,
                timedelta(hours=check_hours),
                scheduler.Delivery.from_settings(settings),
            )
            for alert in done.alerts:
                err.print(f"ALERT {escape(alert)}")
            # Exchanges fill banks: their part of the round is here, not in actions.scheduler,
            # which must not know the banks (the layers contract).
            for fetched in exchange_run.fetch_all(engine, utcnow()):
                if fetched.error is not None:
                    err.print(f"exchange {escape(fetched.exchange)}: {escape(fetched.error)}")
            # Reviewers' confirm/deconfirm feedback whose undo window is over.
            for name, error in exchange_run.send_feedback(engine, utcnow()).errors.items():
                err.print(f"exchange {escape(name)} feedback: {escape(error)}")
            if done.purged or done.checked or done.released or done.delivered:
                out.print(
                    f"purged {len(done.purged)}, checked {len(done.checked)}, notices "
                    f"released {len(done.released)}, delivered {done.delivered}"
                )
            if once:
                return
            time.sleep(interval)
