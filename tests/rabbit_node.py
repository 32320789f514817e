"""A RabbitMQ node of a test's own, for tests that stop and start the broker.

The suite's shared RabbitMQ (127.0.0.1:5672) serves other tests at the same time, so a test that
restarts a broker runs its own node: ``rabbitmq-server`` under a node name, ports, database and
log folder of its own (and its own Erlang cookie, in its own HOME), stopped with ``rabbitmqctl
stop`` and started again on the same database, as an operator restarts one. Its durable queues
and persistent messages live through a restart as on any RabbitMQ.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

# Debian's /usr/sbin scripts re-run themselves as the rabbitmq user; these run as the caller.
_LIBEXEC = Path("/usr/lib/rabbitmq/bin")
START_LIMIT_S = 120.0  # a bound for a broken install, not a speed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli_ports() -> dict[str, str]:
    # The CLI tools take a distribution port of their own, by default 10,000 above the node's,
    # which can be past 65,535 for a port the system chose.
    port = _free_port()
    return {"RABBITMQ_CTL_DIST_PORT_MIN": str(port), "RABBITMQ_CTL_DIST_PORT_MAX": str(port)}


def _command(name: str) -> str | None:
    libexec = _LIBEXEC / name
    return str(libexec) if libexec.exists() else shutil.which(name)


def missing() -> str | None:
    """What is missing to run a node here (None: nothing)."""
    for name in ("rabbitmq-server", "rabbitmqctl"):
        if _command(name) is None:
            return f"{name} is not installed"
    return None


class RabbitNode:
    """One private node in ``folder``; ``url`` is its AMQP address (guest/guest on 127.0.0.1)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.name = f"redline-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        (folder / "enabled_plugins").write_text("[].\n")  # no management plugin: a faster boot
        (folder / "rabbitmq.conf").write_text("")
        (folder / "rabbitmq-env.conf").write_text("")  # not the machine's /etc/rabbitmq one
        self.env = {
            **os.environ,
            "HOME": str(folder),  # its own Erlang cookie, made on first start
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(_free_port()),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(folder / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        """Start the node and return once it takes AMQP connections."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the node's process (it takes some seconds to answer: ``wait_ready``)."""
        self.starts += 1
        with (self.folder / f"server-{self.starts}.log").open("wb") as output:
            self.process = subprocess.Popen(
                [str(_command("rabbitmq-server"))],
                env=self.env,
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its Erlang helpers go with it in stop()
            )

    def wait_ready(self) -> None:
        """Return once the node takes AMQP connections."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + START_LIMIT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.name} did not start: {self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the node as an operator does (``rabbitmqctl stop``: queues and persistent
        messages are kept on disk), and wait for its process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(
            [str(_command("rabbitmqctl")), "-n", self.name, "stop"],
            env={**self.env, **_cli_ports()},
            capture_output=True,
            timeout=120,
            check=False,
        )
        try:
            self.process.wait(timeout=60)
        finally:
            self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """End whatever is left of the node's processes (after stop(), or a failed test)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self) -> str:
        logs = sorted(self.folder.glob("server-*.log")) + sorted(self.folder.glob("log/*.log"))
        return " | ".join(p.read_text(errors="replace")[-1500:] for p in logs[-2:])

    def _answers(self) -> bool:
        from kombu import Connection

        try:
            with Connection(self.url, connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False
