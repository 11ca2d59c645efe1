#!/usr/bin/env python3
"""The XML-RPC server's HTTP edge as other clients see it: Python's standard xmlrpc.client and
raw sockets against tests/commands/http_test_server.

Usage: hostile_client_test.py PATH/TO/http_test_server
Prints 'N passed, N failed' and exits 0 only if nothing failed.
"""
import hashlib
import hmac
import http.client
import os
import socket
import subprocess
import sys
import time
import traceback
import xmlrpc.client

# Latency bounds are for the normal build; a sanitized build (CHORD_SANITIZE, which sets this
# through cmake/sanitizers.cmake) runs many times slower and widens them by this factor.
TIME_SCALE = float(os.environ.get("CHORD_TEST_TIME_SCALE", "1"))

SECRET = "python-side ring secret"
GRIN = "\U0001F600"
CLEF = "\U0001D11E"


class Server:
    """One http_test_server process; it stops when its standard input closes."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen([binary] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d/RPC2" % self.port

    def proxy(self, transport=None):
        return xmlrpc.client.ServerProxy(self.url, transport=transport)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def sign(secret, path, body):
    """The X-Chord-Auth value (commands/auth.h), written independently of the C++ code."""
    ts = int(time.time() * 1000)
    nonce = os.urandom(8).hex()
    head = "chord-auth-v1\n%s\n%d\n%s\n" % (path, ts, nonce)
    mac = hmac.new(secret.encode(), head.encode() + body, hashlib.sha256).hexdigest()
    return "v1 ts=%d nonce=%s mac=%s" % (ts, nonce, mac)


class ProvingTransport(xmlrpc.client.Transport):
    def __init__(self, secret):
        super().__init__()
        self.secret = secret

    # send_request knows the path; send_content still may add headers and knows the body.
    def send_request(self, host, handler, request_body, debug):
        self.path = handler
        return super().send_request(host, handler, request_body, debug)

    def send_content(self, connection, request_body):
        connection.putheader("X-Chord-Auth", sign(self.secret, self.path, request_body))
        super().send_content(connection, request_body)


def raw_exchange(port, data, timeout=20):
    """Sends bytes, returns (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, head.decode("latin-1").lower(), body


def post_raw(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def expect_fault(code, call):
    try:
        call()
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == code, (fault.faultCode, fault.faultString)
        return fault.faultString
    raise AssertionError("no fault")


def test_astral_round_trip(binary):
    server = Server(binary)
    try:
        rpc = server.proxy()
        for value in [GRIN, "a" + GRIN + "b" + CLEF, "\ufdd0" + GRIN + "\ufdd0\ue000\ue000",
                      {"key " + GRIN: [GRIN, {CLEF: "nested " + GRIN}]}, [[GRIN], {GRIN: GRIN}]]:
            echoed = rpc.test.echo(value)
            assert echoed == value, (echoed, value)
    finally:
        server.close()


def test_invalid_utf8_is_bad_argument(binary):
    server = Server(binary)
    try:
        for bad in [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\xbd\xed\xb8\x80", b"\xf0\x9f\x98"]:
            body = (b"<?xml version='1.0'?><methodCall><methodName>test.echo</methodName>"
                    b"<params><param><value><string>" + bad +
                    b"</string></value></param></params></methodCall>")
            status, data = post_raw(server.port, body)
            assert status == 200, status
            expect_fault(1, lambda: xmlrpc.client.loads(data))
        assert server.proxy().test.echo("still serving") == "still serving"
    finally:
        server.close()


def test_5mb_body_is_a_fault_not_a_broken_pipe(binary):
    server = Server(binary, "--max-request-bytes", str(1 << 20))
    try:
        rpc = server.proxy()
        message = expect_fault(1, lambda: rpc.test.echo("x" * (5 << 20)))
        assert "over this node's limit of %d bytes" % (1 << 20) in message, message
        assert rpc.test.echo("small") == "small"  # the same proxy goes on
    finally:
        server.close()


def test_huge_content_length_is_413(binary):
    server = Server(binary)
    try:
        request = (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                   b"Content-Length: %d\r\n\r\n" % (100 << 20)) + b"<" * 1000
        status, headers, body = raw_exchange(server.port, request)
        assert status == 413, status
        assert b"bytes is over this node's limit" in body, body
        assert "connection: close" in headers, headers
    finally:
        server.close()


def test_http_errors(binary):
    server = Server(binary)
    try:
        assert raw_exchange(server.port, b"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 405
        assert raw_exchange(server.port,
                            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")[0] == 404
        assert raw_exchange(server.port, b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 411
    finally:
        server.close()


def test_secret(binary):
    server = Server(binary, "--secret", SECRET)
    try:
        anonymous = server.proxy()
        message = expect_fault(5, lambda: anonymous.test.peer())
        assert "no proof" in message, message
        expect_fault(5, lambda: server.proxy(ProvingTransport("wrong")).test.peer())
        proving = server.proxy(ProvingTransport(SECRET))
        assert proving.test.peer() == "peer"
        assert proving.test.peer() == "peer"  # a fresh proof each call
        assert anonymous.test.echo(GRIN) == GRIN  # client commands stay open
        assert "test.peer" in anonymous.system.listMethods()
    finally:
        server.close()


def test_client_auth(binary):
    server = Server(binary, "--secret", SECRET, "--client-auth")
    try:
        anonymous = server.proxy()
        expect_fault(5, lambda: anonymous.test.echo(1))
        expect_fault(5, lambda: anonymous.test.peer())
        assert "test.echo" in anonymous.system.listMethods()
        proving = server.proxy(ProvingTransport(SECRET))
        assert proving.test.echo(1) == 1
        assert proving.test.peer() == "peer"
        # GET /metrics names the ring's members: not for unproven callers here.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/metrics")
        assert connection.getresponse().status == 403
        connection.close()
    finally:
        server.close()


def timed_echo(server, value):
    """One normal call on a fresh connection; returns its duration in seconds."""
    start = time.monotonic()
    assert server.proxy().test.echo(value) == value
    return time.monotonic() - start


def test_connections_that_ended_free_their_place(binary):
    server = Server(binary, "--max-connections", "4")
    try:
        for _ in range(3):
            socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
            for sock in socks:
                sock.close()
            assert timed_echo(server, 1) < 1.0 * TIME_SCALE
    finally:
        server.close()


def test_a_full_server_makes_room_for_a_new_caller(binary):
    server = Server(binary, "--max-connections", "4")
    socks = []
    try:
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
        time.sleep(0.2)  # let the server accept them all (no reply to wait for)
        for value in range(3):
            assert timed_echo(server, value) < 1.0 * TIME_SCALE
    finally:
        for sock in socks:
            sock.close()
        server.close()


def test_idle_and_slow_connections_cannot_starve_a_caller(binary):
    """300 idle connections and 50 sending a header byte at a time: a normal call is still served
    within 1 s, and everything is normal once they are gone."""
    server = Server(binary)
    idle, slow = [], []
    try:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
        slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
        header = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        worst = 0.0
        for step in range(8):  # bounded: 8 rounds of one byte per slow connection
            for sock in slow:
                sock.sendall(header[step:step + 1])
            worst = max(worst, timed_echo(server, step))
        assert worst < 1.0 * TIME_SCALE, worst
    finally:
        for sock in idle + slow:
            sock.close()
    try:
        for value in range(5):
            assert timed_echo(server, value) < 1.0 * TIME_SCALE
    finally:
        server.close()


def test_idle_and_slow_connections_are_closed_after_the_idle_time_out(binary):
    server = Server(binary, "--idle-timeout-ms", "300")
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        start = time.monotonic()
        for byte in b"POST /RPC2 HT":  # a byte every 50 ms does not extend the deadline
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
        assert slow.recv(100) == b""
        assert idle.recv(100) == b""
        assert time.monotonic() - start < 3.0
        idle.close()
        slow.close()
    finally:
        server.close()


def test_connections_are_kept_alive(binary):
    server = Server(binary)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        body = xmlrpc.client.dumps((7,), "test.echo").encode()
        for _ in range(3):
            conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
            reply = conn.getresponse()
            assert reply.status == 200
            assert reply.getheader("Connection", "").lower() != "close"
            assert xmlrpc.client.loads(reply.read())[0] == (7,)
        conn.close()
    finally:
        server.close()


def main():
    binary = sys.argv[1]
    tests = [value for name, value in sorted(globals().items()) if name.startswith("test_")]
    passed = failed = 0
    for test in tests:
        try:
            test(binary)
            passed += 1
            print("ok   " + test.__name__)
        except Exception:  # report every failure, then go on with the next test
            failed += 1
            print("FAIL " + test.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
