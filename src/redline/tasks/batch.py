"""Several queued messages into one stage call.

The items API sends a message per POST (100 items at most), and a stage call has a fixed cost
(its look-ups of the banks and texts, its transactions, its connection) that a worker paid once
per message, where ``redline scan`` pays it once per thousand items. So a worker given a message
also takes the messages already waiting in the same queue (``Gathered``), up to
``REDLINE_TASK_BATCH`` items, and runs the stage once for them all. A backlog gets the scan's
batch at once; a worker that keeps up with a stream of POSTs would get one POST a call, so when
the call would hold less than half of ``REDLINE_TASK_BATCH`` it waits ``REDLINE_TASK_LINGER``
seconds once (0.1 by default) and takes what came meanwhile (``tasks.work``).

The guarantees of one message hold for each message of a batch:

- acknowledged late: the messages taken beside Celery's are taken unacknowledged on a connection
  of this process's own and acknowledged only after the call has committed (Celery acknowledges
  its own after the task returns). A worker that dies mid-batch drops that connection, and the
  broker puts every message it held back in the queue;
- idempotent: a batch is the same stage over more items, and every stage skips what is done;
- isolated: when the batch's call fails, each message is run again on its own, so one bad
  message cannot fail its batch-mates: those that pass are acknowledged; one that fails again is
  sent again with its own attempt count and back-off, and after ``REDLINE_TASK_ATTEMPTS``
  attempts its items go to the quarantine (item by item, as a single message's do).

Only plain messages of the same task are taken: a message with an ETA (a retry waiting out its
back-off), a chain to continue or anything else is put back at once, for Celery to handle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Taken:
    """A message taken from the queue beside the one Celery handed over."""

    item_ids: list[int]
    attempts: int  # attempts made before this delivery (Celery's ``retries``)
    task_id: str
    message: Any  # kombu.Message, unacknowledged

    def ack(self) -> None:
        """Acknowledge it (its work is committed). A lost connection is only logged: the broker
        then delivers the message again, and running it again changes nothing."""
        try:
            self.message.ack()
        except Exception as error:
            log.warning("task %s: acknowledgement lost (%s), to run again", self.task_id, error)


def plain_items(message: Any, task_name: str) -> list[int] | None:
    """The item ids of a message of ``task_name`` with nothing else to it (no ETA, no chain, no
    callbacks), or None: that message is left to Celery."""
    headers = message.headers or {}
    if headers.get("task") != task_name or headers.get("eta") or headers.get("expires"):
        return None
    try:
        args, kwargs, embed = message.decode()
    except Exception:
        return None
    if kwargs or len(args) != 1 or not isinstance(args[0], list):
        return None
    if any(embed.get(key) for key in ("callbacks", "errbacks", "chain", "chord")):
        return None
    if not all(isinstance(item_id, int) and not isinstance(item_id, bool) for item_id in args[0]):
        return None
    return list(args[0])


# This thread's two broker connections: the one that takes messages and holds them until they
# are acknowledged, and one that only counts what waits (see ``Gatherer._declared``).
GATHERING, COUNTING = "gathering", "counting"


class Gatherer:
    """Takes waiting messages from a queue, on a broker connection of this process (one per
    thread: a threads pool runs several tasks at once), opened when first needed and opened
    again after it is lost (a broker restart)."""

    def __init__(self, broker_url: str, accept: Sequence[str]) -> None:
        self.broker_url = broker_url
        self.accept = list(accept)
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connections, for ``close``
        self._lock = threading.Lock()

    def _connection(self, role: str) -> Any:
        """This thread's connection for ``role`` (``GATHERING`` or ``COUNTING``), opened when
        first needed, and again after ``close`` or ``_forget``."""
        from kombu.connection import Connection

        connection = getattr(self._local, role, None)
        with self._lock:
            if connection not in self._opened:
                connection = None  # closed by ``close``
        if connection is None:
            # No heartbeats: the connection idles between calls, and nothing runs to send them.
            connection = Connection(self.broker_url, heartbeat=0, connect_timeout=5)  # type: ignore[no-untyped-call]
            setattr(self._local, role, connection)
            with self._lock:
                self._opened.append(connection)
        return connection

    def _channel(self) -> Any:
        """The gathering connection's channel: the one that takes the messages."""
        connection = self._connection(GATHERING)
        if getattr(self._local, "channel_of", None) is not connection:
            self._local.channel = connection.channel()
            self._local.channel_of = connection
        return self._local.channel

    def close(self) -> None:
        """Close every thread's connections (a process that exits closes them anyway)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            try:
                connection.release()
            except Exception as error:
                log.debug("closing a broker connection: %s", error)

    def _forget(self, role: str = GATHERING) -> None:
        """Close this thread's connection for ``role``: for the gathering one, the broker puts
        back what it held unacknowledged."""
        connection = getattr(self._local, role, None)
        setattr(self._local, role, None)
        if connection is not None:
            with self._lock:
                if connection in self._opened:
                    self._opened.remove(connection)
            try:
                connection.release()
            except Exception as error:
                log.debug("closing the %s connection: %s", role, error)

    def waiting(self, queues: Sequence[str]) -> int:
        """Messages waiting in ``queues`` (a missing queue has none), or 0 if the broker cannot
        say."""
        try:
            return sum(self._declared(queue)[0] for queue in queues)
        except Exception as error:
            log.warning("could not count the messages waiting in %s: %s", list(queues), error)
            return 0

    def _declared(self, queue: str) -> tuple[int, int]:
        """(messages waiting, consumers) of ``queue``; (0, 0) if there is no such queue (Redis
        has none while it is empty). Asked on a connection of its own, a channel each time: a
        declare of a missing queue closes its channel, and the channel or connection that took
        messages gives them back when it closes."""
        from kombu.exceptions import ChannelError

        try:
            channel = self._connection(COUNTING).channel()
        except Exception:
            self._forget(COUNTING)  # lost: a new one next time
            raise
        try:
            _, waiting, consumers = channel.queue_declare(queue=queue, passive=True)
            return int(waiting), int(consumers)
        except ChannelError:
            return 0, 0
        finally:
            _close_quietly(channel)

    def take(self, queue: str, task_name: str, room: int) -> list[Taken]:
        """Messages of ``task_name`` waiting in ``queue``, whole, while their items fit in
        ``room`` and they are at most this consumer's share of the waiting ones (the queue's
        consumers split them); none if the broker cannot be reached (the call goes on with
        Celery's message alone). Unacknowledged: each is for ``Taken.ack`` once its work is
        committed."""
        if room <= 0:
            return []
        from kombu.entity import Queue

        taken: list[Taken] = []
        try:
            # A fair share of what waits, not all of it: the other workers' consumers (busy, or
            # the messages would not be waiting) find the rest when they are done, instead of
            # idling while this one works through the whole queue.
            waiting, consumers = self._declared(queue)
            share = -(-waiting // max(1, consumers))
            if share == 0:
                return []
            channel = self._channel()
            bound = Queue(queue, no_declare=True)(channel)  # type: ignore[no-untyped-call]
            while room > 0 and len(taken) < share:
                message = bound.get(no_ack=False, accept=self.accept)  # type: ignore[no-untyped-call]
                if message is None:
                    break
                items = plain_items(message, task_name)
                if items is None or len(items) > room:
                    message.reject(requeue=True)  # Celery's to run, or the next call's
                    break
                headers = message.headers or {}
                taken.append(
                    Taken(items, int(headers.get("retries") or 0), str(headers.get("id")), message)
                )
                room -= len(items)
        except Exception as error:
            # Whatever was taken goes back to the queue with the connection.
            log.warning("could not take waiting messages from %s: %s", queue, error)
            self._forget()
            return []
        return taken


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception as error:  # closed by the broker already (a refused declare)
        log.debug("closing a counting channel: %s", error)
