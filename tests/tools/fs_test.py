#!/usr/bin/env python3
"""chord-fs: two FUSE mounts of one 5-node ring (create_chord), on two different entry nodes.

Usage: fs_test.py PATH/TO/create_chord PATH/TO/chord-node PATH/TO/chord PATH/TO/chord-fs

Checks, through the mounts: close-to-open consistency between them (a file closed on one is read
whole on the other), random writes and reads, truncate, concurrent writers (the last close wins
whole-file), `mkdir -p`, `mv`, `rm -r`, `ls -l`, `du`, `find` giving what they give on a local
directory, a `tar` of a source tree extracted into one mount and `diff -r` against the original
through the other, the errno of what is not supported (hard links, xattrs, locks), put-file and
get-file interoperating with the mounts, a 100 MB copy in through one mount during which one
node is killed (kill -9) and out through the other (SHA-256 equal), and EIO, not a hang, once
the whole ring is gone.

Exits 77 (ctest's SKIP_RETURN_CODE) with a message when FUSE cannot mount here (no /dev/fuse,
no fusermount3, no permission). Every wait has a deadline; mounts are unmounted and every
process stopped in a finally block. Prints 'N passed, N failed'; exits 0 on success.
"""
import errno
import fcntl
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# TIME_SCALE: how much slower this build's programs are (3 under ASan, 10 under TSan); it
# stretches the waits and the time-outs of nodes and mounts, never what a check asserts.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dht"))
from ring_helpers import TIME_SCALE, scaled_ms  # noqa: E402  pylint: disable=wrong-import-position

SKIP = 77
BIG_MB = 100
RING = ["--log-level", "error", "--call-timeout-ms", scaled_ms(5000),
        "--min-call-timeout-ms", scaled_ms(200)]
REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SOURCE_DIRS = ["commands", "overlay", "dht", "settings", "tools", "tests", "examples", "docs"]


def wait_for(predicate, seconds, step=0.05):
    """Polls `predicate` until it is true or the deadline passes; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)  # polling with a deadline


def ring_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(command, cwd=None, timeout=120):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout * TIME_SCALE)


def node_pid(address):
    """The pid of the chord-node listening on HOST:PORT (from /proc/net/tcp and fds)."""
    port = int(address.rsplit(":", 1)[1])
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


class Mounts:
    """chord-fs processes in the foreground, one per mount point; unmounted by close()."""

    def __init__(self, binary, directory):
        self.binary, self.directory, self.children = binary, directory, []

    def mount(self, name, args):
        point = os.path.join(self.directory, name)
        os.makedirs(point, exist_ok=True)
        log = open(os.path.join(self.directory, name + ".log"), "w")
        child = subprocess.Popen([self.binary, point, "-f"] + args, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT)
        self.children.append((point, child, log))
        mounted = wait_for(lambda: os.path.ismount(point) or child.poll() is not None,
                           20 * TIME_SCALE)
        return point if mounted and child.poll() is None else None

    def log(self, point):
        with open(point + ".log") as f:
            return f.read()[-2000:]

    def close(self):
        for point, child, log in self.children:
            if os.path.ismount(point):
                subprocess.run(["fusermount3", "-u", "-z", point], capture_output=True,
                               timeout=30)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            log.close()


def fuse_unusable():
    """Why FUSE cannot mount here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None:
        return "no fusermount3 (apt-get install fuse3)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "no permission on /dev/fuse"
    return None


def check_consistency(m1, m2, check):
    a, b = os.path.join(m1, "note.txt"), os.path.join(m2, "note.txt")
    with open(a, "w") as f:
        f.write("first version\n")
    with open(b) as f:
        check(f.read() == "first version\n", "m2 reads what m1 closed")
    with open(b, "w") as f:
        f.write("second, longer version\n")
    with open(a) as f:
        check(f.read() == "second, longer version\n", "m1 reads what m2 closed (close-to-open)")
    st = os.stat(a)
    check(st.st_size == 23 and oct(st.st_mode & 0o777) == "0o644", "stat: %r" % (st,))
    os.chmod(a, 0o600)
    check(os.stat(b).st_mode & 0o777 == 0o600, "chmod seen by the other mount")
    os.utime(a, (1000000000, 1000000000))
    with open(b) as f:  # an open revalidates (attributes are otherwise cached for 1 s)
        check(int(os.fstat(f.fileno()).st_mtime) == 1000000000, "mtime set on m1, seen on m2")
    os.chmod(b, 0)
    check(os.stat(b).st_mode & 0o7777 == 0, "chmod 000 is kept, not taken for 'no mode'")


def check_random_io(m1, m2, check):
    rng = random.Random(14)
    model = bytearray(rng.randbytes(3 * 1024 * 1024 + 17))
    path1, path2 = os.path.join(m1, "random.bin"), os.path.join(m2, "random.bin")
    with open(path1, "wb") as f:
        f.write(model)
    fd = os.open(path1, os.O_RDWR)
    try:
        for _ in range(40):
            offset, data = rng.randrange(0, len(model) + 1000), rng.randbytes(rng.randrange(1, 70000))
            os.pwrite(fd, data, offset)
            if offset > len(model):
                model.extend(b"\0" * (offset - len(model)))
            model[offset:offset + len(data)] = data
        check(os.pread(fd, 5000, 123456) == bytes(model[123456:128456]), "read own random write")
    finally:
        os.close(fd)
    fd = os.open(path2, os.O_RDONLY)
    try:
        ok = all(os.pread(fd, n, o) == bytes(model[o:o + n])
                 for o, n in [(rng.randrange(0, len(model)), rng.randrange(1, 300000))
                              for _ in range(30)])
        check(ok, "random reads on m2 match the random writes on m1")
        check(os.fstat(fd).st_size == len(model), "size after random writes")
    finally:
        os.close(fd)
    os.truncate(path1, 1000000)
    with open(path2, "rb") as f:
        check(f.read() == bytes(model[:1000000]), "truncate to 1 MB seen on m2")
    os.truncate(path2, 1000100)
    with open(path1, "rb") as f:
        check(f.read() == bytes(model[:1000000]) + b"\0" * 100, "truncate up: zeros")


def check_concurrent_writers(m1, m2, check):
    p1, p2 = os.path.join(m1, "race.bin"), os.path.join(m2, "race.bin")
    a, b = b"A" * (2 * 1024 * 1024 + 5), b"B" * (1024 * 1024 + 9)
    f1, f2 = open(p1, "wb"), open(p2, "wb")
    f1.write(a)
    f2.write(b)
    f1.close()
    f2.close()  # the last close
    with open(p1, "rb") as f:
        got = f.read()
    check(got == b, "last close wins whole-file (got %d bytes, %d distinct)" %
          (len(got), len(set(got))))


TREE_SCRIPT = """
set -e
mkdir -p a/b/c a/d
printf hello > a/b/c/f1
printf 'some more text\\n' > a/b/f2
head -c 300000 /dev/zero > a/d/zeros
mv a/b/c a/d/c2
mv a/b/f2 a/b/f3
mkdir x && printf 1 > x/one && rm -r x
ln -s ../b/f3 a/d/link
"""


def listing(root):
    """What `find`, `ls -l` and `du` say, without what a mount cannot share with a local disk:
    times, owners, link counts and the sizes of directories."""
    find = run(["sh", "-c", "find . | sort"], cwd=root).stdout
    rows = []
    for line in run(["ls", "-lR", "--time-style=+"], cwd=root).stdout.splitlines():
        words = line.split()
        if words and words[0] == "total":
            continue
        if len(words) >= 6 and words[0][0] in "-ld":
            size = [] if words[0][0] == "d" else [words[4]]
            line = " ".join([words[0][:10]] + size + words[5:])
        rows.append(line)
    du = run(["du", "-ab", "a"], cwd=root).stdout.splitlines()
    du_files = sorted(l for l in du if not os.path.isdir(os.path.join(root, l.split("\t")[1])))
    return find, "\n".join(rows), "\n".join(du_files)


def check_tree(m1, m2, local, check):
    m1, m2, local = os.path.join(m1, "tree"), os.path.join(m2, "tree"), os.path.join(local, "tree")
    os.makedirs(m1)
    os.makedirs(local)
    for root in (local, m1):
        result = run(["sh", "-c", TREE_SCRIPT], cwd=root)
        check(result.returncode == 0, "tree script in %s: %s" % (root, result.stderr))
    want, got = listing(local), listing(m2)
    for what, w, g in zip(("find", "ls -l", "du"), want, got):
        check(w == g, "%s differs from a local disk:\nlocal:\n%s\nmount:\n%s" % (what, w, g))
    check(os.readlink(os.path.join(m2, "a/d/link")) == "../b/f3", "symlink target")
    with open(os.path.join(m2, "a/d/link")) as f:
        check(f.read() == "some more text\n", "read through a symlink")
    result = run(["rm", "-r", os.path.join(m1, "a")])
    check(result.returncode == 0 and os.listdir(m2) == [], "rm -r: %s" % result.stderr)


def check_tar(m1, m2, check):
    """The repository's sources (some 140 files in 40 directories) through tar and diff -r."""
    source = os.path.realpath(REPOSITORY)
    os.makedirs(os.path.join(m1, "src"))
    tar = subprocess.run("tar -C '%s' -cf - %s | tar -C '%s' -xf -" % (
        source, " ".join(SOURCE_DIRS), os.path.join(m1, "src")), shell=True,
        capture_output=True, text=True, timeout=120 * TIME_SCALE)
    check(tar.returncode == 0, "tar into the mount: %s" % tar.stderr)
    for name in SOURCE_DIRS:
        diff = run(["diff", "-r", os.path.join(source, name), os.path.join(m2, "src", name)])
        check(diff.returncode == 0, "diff -r %s: %s %s" % (name, diff.stdout[-500:], diff.stderr))


def expect_errno(action, wanted, check, what):
    started = time.monotonic()
    try:
        action()
        check(False, "%s succeeded" % what)
    except OSError as e:
        check(e.errno in wanted, "%s: errno %s, want %s" % (what, errno.errorcode.get(e.errno),
                                                          [errno.errorcode[w] for w in wanted]))
    took = time.monotonic() - started
    check(took < 10 * TIME_SCALE, "%s took %.1f s" % (what, took))


def check_unsupported(m1, check):
    path = os.path.join(m1, "plain.txt")
    with open(path, "w") as f:
        f.write("x")
    expect_errno(lambda: os.link(path, path + ".2"), (errno.EPERM,), check, "hard link")
    expect_errno(lambda: os.setxattr(path, "user.k", b"v"), (errno.ENOTSUP,), check, "setxattr")
    expect_errno(lambda: os.getxattr(path, "user.k"), (errno.ENOTSUP, errno.ENODATA), check,
                 "getxattr")
    with open(path) as f:
        expect_errno(lambda: fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB), (errno.ENOLCK,),
                     check, "lockf")
        expect_errno(lambda: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB), (errno.ENOLCK,),
                     check, "flock")
    expect_errno(lambda: os.mkfifo(os.path.join(m1, "fifo")), (errno.EPERM,), check, "mkfifo")
    expect_errno(lambda: os.rmdir(os.path.join(m1, "missing")), (errno.ENOENT,), check, "rmdir")
    os.makedirs(os.path.join(m1, "full/inner"))
    expect_errno(lambda: os.rmdir(os.path.join(m1, "full")), (errno.ENOTEMPTY,), check,
                 "rmdir of a non-empty directory")


def check_put_get_file(chord, ring_file, m1, m2, directory, check):
    local = os.path.join(directory, "put.txt")
    with open(local, "w") as f:
        f.write("stored by chord put-file\n")
    put = run([chord, "--ring", ring_file, "put-file", local, "docs/put.txt"])
    check(put.returncode == 0, "put-file: %s" % put.stderr)
    check("put.txt" in os.listdir(os.path.join(m2, "docs")), "put-file lists the file")
    with open(os.path.join(m1, "docs/put.txt")) as f:
        check(f.read() == "stored by chord put-file\n", "put-file content through the mount")
    with open(os.path.join(m1, "docs/by-mount.txt"), "w") as f:
        f.write("written into the mount\n")
    # Renamed in the mount, then the old name stored again: the renamed file keeps its content.
    os.rename(os.path.join(m1, "docs/put.txt"), os.path.join(m1, "docs/moved.txt"))
    with open(local, "w") as f:
        f.write("stored again under the old name\n")
    check(run([chord, "--ring", ring_file, "put-file", local, "docs/put.txt"]).returncode == 0,
          "put-file again")
    with open(os.path.join(m2, "docs/moved.txt")) as f:
        check(f.read() == "stored by chord put-file\n", "a renamed put-file file keeps its chunks")
    with open(os.path.join(m2, "docs/put.txt")) as f:
        check(f.read() == "stored again under the old name\n", "the new put-file file")
    out = os.path.join(directory, "got.txt")
    got = run([chord, "--ring", ring_file, "get-file", "docs/by-mount.txt", out])
    check(got.returncode == 0, "get-file: %s" % got.stderr)
    with open(out) as f:
        check(f.read() == "written into the mount\n", "get-file of a file the mount wrote")


def check_big_copy(m1, m2, victim, directory, check):
    source = os.path.join(directory, "big.bin")
    with open(source, "wb") as f:
        for _ in range(BIG_MB):
            f.write(os.urandom(1 << 20))
    want = sha256(source)
    started = time.monotonic()
    copy = subprocess.Popen(["cp", source, os.path.join(m1, "big.bin")])
    time.sleep(1.5)  # the copy is under way (it takes several seconds): kill a node under it
    pid = node_pid(victim)
    check(pid is not None, "pid of the node at %s" % victim)
    if pid:
        os.kill(pid, signal.SIGKILL)
    try:
        code = copy.wait(timeout=150 * TIME_SCALE)
    except subprocess.TimeoutExpired:
        copy.kill()
        code = "hung"
    write_s = time.monotonic() - started
    check(code == 0, "cp into the mount during kill -9: %s" % code)
    started = time.monotonic()
    got = sha256(os.path.join(m2, "big.bin"))
    print("100 MB: written through m1 in %.1f s (a node killed), read through m2 in %.1f s" %
          (write_s, time.monotonic() - started))
    check(got == want, "SHA-256 through m2 %s, want %s" % (got, want))
    os.remove(source)


def check_ring_gone(launcher, m2, check):
    launcher.send_signal(signal.SIGTERM)
    launcher.wait(timeout=60 * TIME_SCALE)
    started = time.monotonic()
    expect_errno(lambda: open(os.path.join(m2, "after.txt"), "w").close(), (errno.EIO,), check,
                 "create with the ring gone")
    took = time.monotonic() - started
    check(took < 30 * TIME_SCALE, "EIO came in %.1f s" % took)


def main():
    create_chord, node, chord, chord_fs = sys.argv[1:5]
    why = fuse_unusable() or (None if os.path.exists(chord_fs) else "chord-fs was not built")
    if why:
        print("SKIP: FUSE cannot mount here: %s" % why)
        return SKIP
    results = {"passed": 0, "failed": 0}

    def check(ok, message):
        results["passed" if ok else "failed"] += 1
        if not ok:
            print("FAIL:", message)

    version = run([chord_fs, "--version"])
    check(version.returncode == 0 and version.stdout.startswith("chord-fs "), "--version")
    check(run([chord_fs, "--help"]).returncode == 0, "--help")
    check(run([chord_fs]).returncode == 2, "no mount point: exit 2")

    directory = tempfile.mkdtemp(prefix="chord_fs_test.")
    ring_file = os.path.join(directory, "ring.txt")
    log = open(os.path.join(directory, "create_chord.log"), "w")
    launcher = subprocess.Popen(
        [create_chord, "5", "--no-shell", "--ring-file", ring_file, "--node-binary", node] + RING,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    mounts = Mounts(chord_fs, directory)
    started = time.monotonic()
    try:
        if not wait_for(lambda: len(ring_lines(ring_file)) == 5 or launcher.poll() is not None,
                        90 * TIME_SCALE) or launcher.poll() is not None:
            check(False, "the ring did not come up")
            return 1
        members = ring_lines(ring_file)
        common = ["--ring", ring_file, "--timeout-ms", scaled_ms(8000),
                  "--call-timeout-ms", scaled_ms(5000)]
        m1 = mounts.mount("m1", common + ["--node", members[0]])
        if m1 is None:
            print("SKIP: FUSE cannot mount here: %s" % mounts.log(os.path.join(directory, "m1")))
            return SKIP
        m2 = mounts.mount("m2", common + ["--node", members[1]])
        check(m2 is not None, "second mount")
        if m2 is None:
            return 1
        local = os.path.join(directory, "local")
        os.makedirs(local)
        for name, step in [
                ("consistency", lambda: check_consistency(m1, m2, check)),
                ("random I/O", lambda: check_random_io(m1, m2, check)),
                ("concurrent writers", lambda: check_concurrent_writers(m1, m2, check)),
                ("tree", lambda: check_tree(m1, m2, local, check)),
                ("tar", lambda: check_tar(m1, m2, check)),
                ("unsupported", lambda: check_unsupported(m1, check)),
                ("put-file", lambda: check_put_get_file(chord, ring_file, m1, m2, directory,
                                                        check)),
                ("100 MB copy", lambda: check_big_copy(m1, m2, members[0], directory, check)),
                ("ring gone", lambda: check_ring_gone(launcher, m2, check))]:
            step_started = time.monotonic()
            try:
                step()
            except (OSError, subprocess.SubprocessError) as e:
                check(False, "%s: %s" % (name, e))
            print("%s: %.1f s" % (name, time.monotonic() - step_started))
    finally:
        mounts.close()
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)  # the launcher stops its nodes
            try:
                launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
        log.close()
        if results["failed"]:
            for name in ("m1", "m2"):
                path = os.path.join(directory, name + ".log")
                if os.path.exists(path):
                    with open(path) as f:
                        print("--- %s.log\n%s" % (name, f.read()[-2000:]))
        shutil.rmtree(directory, ignore_errors=True)
    print("%d passed, %d failed in %.0f s" % (results["passed"], results["failed"],
                                              time.monotonic() - started))
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
