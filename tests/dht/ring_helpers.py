"""Helpers shared by the Python tests in tests/dht (and bench/freeze_latency.py) that start
rings of chord-node processes: starting nodes that die with the test, proxies with a time-out,
reading a child's stdout with a deadline, bounded waits, ring checks and clean-up.

The scripts are run as `python3 tests/dht/<script> ...`, so this directory is on sys.path and
`import ring_helpers` finds this module.
"""
import ctypes
import os
import select
import signal
import subprocess
import time
import xmlrpc.client

# What a predicate of wait_for may raise while a ring is still settling.
RPC_ERRORS = (OSError, xmlrpc.client.Error)

# How much slower this build's programs run than a plain build: 1, or the factor a sanitized
# build gives its tests (cmake/sanitizers.cmake). Deadlines that only wait for something to
# happen are multiplied by it; what a test asserts is unchanged.
TIME_SCALE = float(os.environ.get("CHORD_TEST_TIME_SCALE", "1"))


def scaled_ms(ms):
    """A node's time-out option (milliseconds, as a string), scaled by TIME_SCALE: a sanitized
    node that is only slow must not be taken for a dead one."""
    return str(int(ms * TIME_SCALE))


def die_with_parent():
    """In the child before exec: SIGKILL when this test dies, so no node outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pylint: disable=broad-except
        pass


def spawn(command, stderr=None):
    """A child with its stdout piped, no stdin, and SIGKILL when this test dies."""
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)


def read_line(stream, seconds):
    """The next line of a child's stdout (bytes pipe), read with a deadline ('' if none)."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + seconds
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        byte = os.read(fd, 1)  # one byte at a time: leave later lines in the pipe
        if not byte:
            break
        data += byte
    return data.decode(errors="replace").rstrip("\n")


def node_identity(line):
    """(id, address) from chord-node's first stdout line, 'chord-node: id HEX address
    HOST:PORT', or None if the line is not that."""
    words = line.split()
    if len(words) != 5:
        return None
    return int(words[2], 16), words[4]


class TimeoutTransport(xmlrpc.client.Transport):
    """xmlrpc.client's transport with a socket time-out per proxy (not a global default)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.seconds
        return connection


def proxy(address, seconds=None, transport=None):
    """An XML-RPC proxy of the node at address; calls give up after `seconds` if given."""
    if seconds is not None:
        transport = TimeoutTransport(seconds)
    return xmlrpc.client.ServerProxy("http://%s/RPC2" % address, transport=transport)


class NodeProcess:
    """One chord-node child; its first stdout line names its id and address.

    Its stderr goes to `workdir`/`name`.log (to /dev/null without a workdir); the process is
    appended to `processes`, which the caller stops at the end (stop_all). Raises RuntimeError
    if the node does not name itself within `startup_s`."""

    def __init__(self, binary, args, workdir, processes, startup_s=20, rpc_seconds=None):
        self.name = "node-%d" % (len(processes) + 1)
        self.log_path = os.path.join(workdir, self.name + ".log") if workdir else None
        self.log_file = open(self.log_path or os.devnull, "w")
        self.proc = spawn([binary] + args, stderr=self.log_file)
        processes.append(self.proc)
        line = read_line(self.proc.stdout, startup_s)
        identity = node_identity(line)
        if identity is None:
            raise RuntimeError("%s did not start: %r, log: %s" % (self.name, line, self.stderr()))
        self.id, self.address = identity
        self.rpc = proxy(self.address, rpc_seconds)

    def stderr(self):
        """What the node wrote to stderr so far ('' without a workdir)."""
        if not self.log_path:
            return ""
        self.log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()


def exit_status(proc, seconds):
    """The exit status of proc, or None if it is still running after the deadline."""
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


def stop_all(procs, seconds=15):
    """SIGTERM to every process still running, then SIGKILL to those not gone after
    `seconds` each."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        if exit_status(proc, seconds) is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_for(predicate, seconds, errors=RPC_ERRORS):
    """Polls predicate until it holds or the deadline (scaled by TIME_SCALE) passes; `errors`
    count as not yet."""
    deadline = time.monotonic() + seconds * TIME_SCALE
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except errors:
            pass
        time.sleep(0.1)  # polling live processes with a deadline
    return False


def ring_ok(nodes):
    """Every node's first successor and predecessor are its neighbours in id order (nodes have
    .id, .address and .rpc)."""
    ordered = sorted(nodes, key=lambda n: n.id)
    for i, node in enumerate(ordered):
        info = node.rpc.chord.info()
        if info["successors"][0]["address"] != ordered[(i + 1) % len(ordered)].address:
            return False
        if info.get("predecessor", {}).get("address") != ordered[i - 1].address:
            return False
    return True
