"""Several machines on this one, for tests of redline across hosts: a Linux network namespace per
machine, each with one interface (``eth0``) on a bridge, and a disk no other machine can see.

The host's end of the bridge (``lan.gateway``) stands for the machines that run the shared
services. The services on this host listen on 127.0.0.1 only and are not reconfigured for a
test, so a ``Relay`` on the gateway address forwards each TCP connection, byte for byte, to the
service's loopback port: from inside a namespace, PostgreSQL, RabbitMQ and the object store are
reached at the gateway address as on any network, and the namespace's own 127.0.0.1 has nothing
behind it.

Every process a ``Machine`` starts (``ip netns exec``, which also gives it a mount namespace of
its own) first mounts an empty tmpfs over the disks of the other machines and over the test's
own folder, so a file one machine writes can reach another only through a service. Its working
directory and ``TMPDIR`` are on its own disk, and its environment holds only what the test gives
it, as a freshly configured machine's would.

The machines keep this machine's hostname, as cloned virtual machines and containers on the
host's network often do: nothing in redline may count on hostnames to tell its processes apart.

Needs root (``ip netns``, ``ip link``, ``mount``) and iproute2. Names start with ``rl`` and a
random tag, so parallel runs never share a namespace, a bridge or an address range.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# What a machine's processes inherit from the test runner: where Python and redline are found.
PASSED_THROUGH = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL")


def unavailable() -> str | None:
    """Why this machine cannot make namespaces (None when it can)."""
    if sys.platform != "linux":
        return "network namespaces are Linux's"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"rlprobe{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:  # root without the capability, as in some containers
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200-254.x.0 that no interface of this host is on."""
    taken = subprocess.run(
        ["ip", "-o", "-4", "route", "show"], capture_output=True, text=True, check=True
    ).stdout
    chooser = random.SystemRandom()
    for _ in range(100):
        subnet = ipaddress.ip_network(
            f"10.{chooser.randint(200, 254)}.{chooser.randint(0, 255)}.0/24"
        )
        if str(subnet) not in taken:
            return subnet
    raise RuntimeError("no free 10.200-254.x.0/24 subnet for the test network")


@dataclass
class Machine:
    """One host of the test network: a namespace with its address, and its own disk."""

    name: str
    namespace: str
    address: str
    disk: Path
    lan: Lan

    def argv(self, command: Sequence[str]) -> list[str]:
        """``command`` as run on this machine: in its namespace, the others' disks hidden."""
        hidden = [m.disk for m in self.lan.machines.values() if m is not self] + [self.lan.private]
        mounts = "".join(
            f"mount -t tmpfs -o size=64k,mode=0700 hidden {shlex.quote(str(p))} && " for p in hidden
        )
        script = f'{mounts}cd {shlex.quote(str(self.disk))} && exec "$@"'
        return ["ip", "netns", "exec", self.namespace, "sh", "-c", script, "sh", *command]

    def environment(self, config: Mapping[str, str]) -> dict[str, str]:
        """Only what a machine configured with ``config`` has: no REDLINE_* or cloud credentials
        of the test runner's."""
        env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        env.update(HOME=str(self.disk), TMPDIR=str(self.disk / "tmp"))
        env.update(config)
        return env

    def run(
        self, command: Sequence[str], config: Mapping[str, str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` here to its end; its output captured."""
        return subprocess.run(
            self.argv(command),
            env=self.environment(config),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, command: Sequence[str], config: Mapping[str, str], log: Path) -> Service:
        """Start ``command`` here in the background, its output to ``log`` (on the test's side)."""
        with log.open("wb") as output:
            process = subprocess.Popen(
                self.argv(command),
                env=self.environment(config),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )
        service = Service(self.name, process, log)
        self.lan.started.append(service)
        return service


@dataclass
class Service:
    """A long-running process on a machine."""

    machine: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self) -> None:
        """SIGTERM to the process group: uvicorn's and Celery's children go with their parent."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """``terminate``, then SIGKILL if it has not ended within 30 s."""
        self.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Lan:
    """A bridge on this host and machines on it; ``gateway`` is the host's address there."""

    tag: str
    subnet: ipaddress.IPv4Network
    root: Path
    machines: dict[str, Machine] = field(default_factory=dict)
    started: list[Service] = field(default_factory=list)
    relays: list[Relay] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return self.tag

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def private(self) -> Path:
        """The test's own folder (uploads, logs): no machine sees inside it."""
        return self.root / "test"

    def add(self, name: str) -> Machine:
        number = len(self.machines) + 1
        namespace = f"{self.tag}-{name}"
        address = str(self.subnet.network_address + 1 + number)
        host_end = f"{self.tag}v{number}"
        _ip("netns", "add", namespace)
        machine = Machine(name, namespace, address, self.root / "machines" / name, self)
        self.machines[name] = machine
        _ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        _ip("link", "set", host_end, "master", self.bridge, "up")
        inside = ("ip", "netns", "exec", namespace, "ip")
        for args in (
            ("addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0"),
            ("link", "set", "eth0", "up"),
            ("link", "set", "lo", "up"),
        ):
            subprocess.run([*inside, *args], check=True, capture_output=True, timeout=30)
        (machine.disk / "tmp").mkdir(parents=True)
        return machine

    def relay(self, port: int, target: tuple[str, int]) -> str:
        """Forward ``gateway:port`` to ``target`` (a service on this host's loopback); returns
        ``gateway:port``."""
        self.relays.append(Relay((self.gateway, port), target))
        return f"{self.gateway}:{port}"

    def close(self) -> None:
        for service in self.started:  # all at once: each takes a moment to shut down
            service.terminate()
        for service in self.started:
            service.stop()
        for relay in self.relays:
            relay.close()
        for machine in self.machines.values():
            # Anything still running in the namespace was started by this test: end it by id.
            pids = subprocess.run(
                ["ip", "netns", "pids", machine.namespace], capture_output=True, text=True
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", machine.namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@contextlib.contextmanager
def lan(root: Path) -> Iterator[Lan]:
    """A new bridge on a free subnet; machines are added with ``Lan.add``. Everything made is
    removed at the end, whatever happened."""
    made = Lan(f"rl{uuid.uuid4().hex[:8]}", _free_subnet(), root)
    made.private.mkdir(parents=True)
    try:
        _ip("link", "add", made.bridge, "type", "bridge")
        _ip("addr", "add", f"{made.gateway}/{made.subnet.prefixlen}", "dev", made.bridge)
        _ip("link", "set", made.bridge, "up")
        yield made
    finally:
        made.close()


class Relay:
    """Accepts TCP connections on ``listen`` and pipes each, both ways, to ``target``."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server(listen)
        self._server.settimeout(0.2)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name=f"relay-{listen[1]}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()  # the client sees the service refuse, as it would directly
                continue
            for end in (client, upstream):
                end.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        with self._lock:
            for end in self._open:
                with contextlib.suppress(OSError):
                    end.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until ``source`` ends, then pass the end on (a half-close, as TCP does)."""
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
