#!/usr/bin/env python3
"""Regenerates the Chord paper's experiments as Markdown tables and SVG plots.

    bench/paper_figures.py build/tools/chord-sim --out docs/paper
    bench/paper_figures.py build/tools/chord-sim --out /tmp/figs --tiny     # seconds, for tests

Runs `chord-sim --experiment NAME` for each experiment (path-length, keys-per-node, failures,
keys-moved), writes its tables to OUT/NAME.md and draws OUT/NAME.svg from them (hand-written
SVG: axes, ticks, labels, error bars from the 1st to the 99th percentile). Exit status 0 on
success, 1 if an experiment failed, 2 on bad usage.
"""

import argparse
import math
import os
import subprocess
import sys
import time
from xml.sax.saxutils import escape

EXPERIMENTS = ["path-length", "keys-per-node", "failures", "keys-moved"]
COLORS = ["#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad"]


# --- Markdown tables -------------------------------------------------------------------------

def parse_tables(text):
    """Every Markdown table of `text`, as a list of rows (dicts from header to cell text)."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [cell.strip() for cell in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [cell.strip() for cell in lines[i].strip("|").split("|")]
                rows.append(dict(zip(header, cells)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def number(cell):
    return float(cell.rstrip("%"))


# --- SVG -------------------------------------------------------------------------------------

def nice_ticks(low, high, count=5):
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def label(value):
    return str(int(value)) if float(value).is_integer() else "%g" % value


class Panel:
    """One plot: series of points (x, y, low, high) with optional error bars and lines."""

    def __init__(self, title, xlabel, ylabel, x_ticks=None, x_of=lambda x: x):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.x_ticks, self.x_of = x_ticks, x_of  # x_of: data x -> plotted x (e.g. log2)
        self.series = []  # (name, points, color, joined, dashed)

    def add(self, name, points, joined=True, dashed=False):
        color = COLORS[len(self.series) % len(COLORS)]
        self.series.append((name, points, color, joined, dashed))

    def svg(self, left, top, width, height):
        xs = [self.x_of(p[0]) for _, pts, *_ in self.series for p in pts]
        ys = [v for _, pts, *_ in self.series for p in pts for v in p[1:] if v is not None]
        x_ticks = self.x_ticks or [(t, label(t)) for t in nice_ticks(min(xs), max(xs))]
        x_lo = min([self.x_of(t) for t, _ in x_ticks] + xs)
        x_hi = max([self.x_of(t) for t, _ in x_ticks] + xs)
        pad = 0.05 * ((x_hi - x_lo) or 1)  # keeps end points and their bars off the frame
        x_lo, x_hi = x_lo - pad, x_hi + pad
        y_ticks = nice_ticks(min(0, min(ys)), 1.1 * max(ys))  # headroom for the legend
        y_lo, y_hi = y_ticks[0], y_ticks[-1]
        ml, mr, mt, mb = 60, 20, 30, 50  # margins: axis labels and title
        pw, ph = width - ml - mr, height - mt - mb

        def px(x):
            return left + ml + (self.x_of(x) - x_lo) / ((x_hi - x_lo) or 1) * pw

        def py(y):
            return top + mt + ph - (y - y_lo) / ((y_hi - y_lo) or 1) * ph

        out = ['<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14" font-weight="bold">'
               '%s</text>' % (left + ml + pw / 2, top + 18, escape(self.title))]
        out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" '
                   'stroke="#000"/>' % (left + ml, top + mt, pw, ph))
        for value, text in x_ticks:
            x = px(value)
            out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/>'
                       % (x, top + mt + ph, x, top + mt + ph + 5))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%s</text>'
                       % (x, top + mt + ph + 18, escape(text)))
        for value in y_ticks:
            y = py(value)
            out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>'
                       % (left + ml, y, left + ml + pw, y))
            out.append('<text x="%.1f" y="%.1f" text-anchor="end" font-size="11">%s</text>'
                       % (left + ml - 6, y + 4, label(value)))
        out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12">%s</text>'
                   % (left + ml + pw / 2, top + height - 10, escape(self.xlabel)))
        out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12" '
                   'transform="rotate(-90 %.1f %.1f)">%s</text>'
                   % (left + 16, top + mt + ph / 2, left + 16, top + mt + ph / 2,
                      escape(self.ylabel)))
        for index, (name, points, color, joined, dashed) in enumerate(self.series):
            if joined and len(points) > 1:
                path = " ".join("%.1f,%.1f" % (px(p[0]), py(p[1])) for p in points)
                out.append('<polyline points="%s" fill="none" stroke="%s"%s/>'
                           % (path, color, ' stroke-dasharray="5,4"' if dashed else ""))
            for x, y, low, high in points:
                if low is not None and high is not None:
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                               % (px(x), py(low), px(x), py(high), color))
                    for end in (low, high):
                        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                                   % (px(x) - 4, py(end), px(x) + 4, py(end), color))
                if not dashed:
                    out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>'
                               % (px(x), py(y), color))
            ly = top + mt + 14 + 16 * index  # legend, top left inside the plot
            if joined or dashed:
                out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"%s/>'
                           % (left + ml + 10, ly - 4, left + ml + 30, ly - 4, color,
                              ' stroke-dasharray="5,4"' if dashed else ""))
            else:
                out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>'
                           % (left + ml + 20, ly - 4, color))
            out.append('<text x="%.1f" y="%.1f" font-size="11">%s</text>'
                       % (left + ml + 36, ly, escape(name)))
        return "\n".join(out)


def write_svg(path, panels, width=560, height=380):
    body = "\n".join(p.svg(i * width, 0, width, height) for i, p in enumerate(panels))
    with open(path, "w") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
                  'font-family="sans-serif">\n<rect width="100%%" height="100%%" fill="#fff"/>\n'
                  '%s\n</svg>\n' % (width * len(panels), height, body))


# --- the figures -----------------------------------------------------------------------------

def spread(row, mean, low, high):
    return number(row[mean]), number(row[low]), number(row[high])


def draw_path_length(tables, path):
    rows = tables[0]
    sizes = [int(number(r["N"])) for r in rows]
    panel = Panel("Lookup path length (1st-99th percentile bars)", "nodes N", "hops",
                  x_ticks=[(n, str(n)) for n in sizes], x_of=math.log2)
    panel.add("mean hops", [(int(number(r["N"])),) + spread(r, "mean hops", "1st pct",
                                                            "99th pct") for r in rows])
    panel.add("½ log2 N", [(n, 0.5 * math.log2(n), None, None) for n in sizes], dashed=True)
    write_svg(path, [panel])


def draw_keys_per_node(tables, path):
    rows = tables[0]
    vs = [int(number(r["virtual nodes v"])) for r in rows]
    panel = Panel("Keys per process (1st-99th percentile bars)", "virtual nodes per process v",
                  "keys per process", x_ticks=[(v, str(v)) for v in vs], x_of=math.log2)
    panel.add("mean", [(int(number(r["virtual nodes v"])),) + spread(r, "mean", "1st pct",
                                                                     "99th pct") for r in rows])
    panel.add("2 x mean", [(v, 2 * number(r["mean"]), None, None) for v, r in zip(vs, rows)],
              dashed=True)
    write_svg(path, [panel])


def draw_failures(tables, path):
    rows = tables[0]
    ps = [number(r["p"]) for r in rows]
    ticks = [(p, "%g" % p) for p in ps]
    timeouts = Panel("Timeouts per lookup (1st-99th pct)", "fraction of nodes failed p",
                     "calls to crashed nodes", x_ticks=ticks)
    timeouts.add("mean", [(number(r["p"]),) + spread(r, "timeouts mean", "timeouts 1st pct",
                                                     "timeouts 99th pct") for r in rows])
    failed = Panel("Failed lookups before repair", "fraction of nodes failed p",
                   "failed lookups (%)", x_ticks=ticks)
    failed.add("failed", [(number(r["p"]), 100 * number(r["failed fraction"]), None, None)
                          for r in rows])
    failed.add("1% (target bound)", [(p, 1.0, None, None) for p in ps], dashed=True)
    write_svg(path, [timeouts, failed])


def draw_keys_moved(tables, path):
    summary, per_join = tables[0], tables[1]
    means = {r["method"]: r["mean / (K/N)"] for r in summary}
    panel = Panel("Keys moved per join / (K/N)", "join", "moved / (K/N)")
    joins = []
    for method in sorted({r["method"] for r in per_join}):
        rows = [r for r in per_join if r["method"] == method]
        joins += [int(number(r["join"])) for r in rows]
        panel.add("%s (mean %s)" % (method, means.get(method, "?")), [(int(number(r["join"])), number(r["moved"]) / number(r["K/N"]), None,
                            None) for r in rows], joined=False)
    panel.add("1 (K/N)", [(min(joins), 1.0, None, None), (max(joins), 1.0, None, None)],
              dashed=True)
    write_svg(path, [panel])


DRAW = {"path-length": draw_path_length, "keys-per-node": draw_keys_per_node,
        "failures": draw_failures, "keys-moved": draw_keys_moved}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chord_sim", help="path of the chord-sim binary")
    parser.add_argument("--out", default="docs/paper", help="directory for NAME.md and NAME.svg")
    parser.add_argument("--tiny", action="store_true", help="tiny scale (seconds), for tests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, help="run only these")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    for name in args.only or EXPERIMENTS:
        print("%s: running" % name, flush=True)
        begin = time.time()
        command = [args.chord_sim, "--experiment", name, "--seed", str(args.seed)]
        if args.tiny:
            command.append("--tiny")
        result = subprocess.run(command, stdout=subprocess.PIPE, universal_newlines=True)
        if result.returncode != 0:
            print("paper_figures: %s failed (exit %d): %s" % (name, result.returncode,
                                                              " ".join(command)), file=sys.stderr)
            return 1
        with open(os.path.join(args.out, name + ".md"), "w") as out:
            out.write(result.stdout)
        DRAW[name](parse_tables(result.stdout), os.path.join(args.out, name + ".svg"))
        print("%s: %.1f s, wrote %s.md and %s.svg" % (name, time.time() - begin, name, name),
              flush=True)
    print("all done in %.1f s" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
