"""Port ranges for the benchmark scripts that start rings on fixed ports (bench/million.py,
bench/vnodes_balance.py). Imported from the scripts' own directory."""
import random
import socket


def free_base_port(count):
    """A port P such that P..P+count-1 are free on 127.0.0.1 now."""
    r = random.Random()
    for _ in range(200):
        # Below the ephemeral range (32768..), where the nodes' own outgoing connections
        # would take ports of the range after it was probed.
        base = r.randrange(10000, 32000 - count)
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise SystemExit("no free port range")
