#!/usr/bin/env python3
"""bench/paper_figures.py --tiny: every experiment runs, each table has its rows and each SVG
parses as XML with the plot's parts (axes, points, error bars where the figure has them).

    paper_figures_test.py PAPER_FIGURES_PY CHORD_SIM
"""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
import paper_figures  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
# Rows of the first table at --tiny scale.
ROWS = {"path-length": 3, "keys-per-node": 6, "failures": 5, "keys-moved": 2}


def check(out, name):
    with open(os.path.join(out, name + ".md")) as text:
        tables = paper_figures.parse_tables(text.read())
    assert tables and len(tables[0]) == ROWS[name], (name, tables)
    root = ET.parse(os.path.join(out, name + ".svg")).getroot()
    assert root.tag == SVG + "svg", root.tag
    texts = [t.text for t in root.iter(SVG + "text")]
    assert len(texts) >= 8, (name, texts)  # title, axis labels, ticks
    assert len(list(root.iter(SVG + "circle"))) >= ROWS[name], name  # one point per row at least
    if name == "keys-moved":
        assert len(tables[1]) == 5 + 3, tables[1]  # per join: 5 ownership, 3 dht
        for row in tables[0]:
            assert float(row["mean / (K/N)"]) > 0, row
    if name == "failures":
        for row in tables[0]:
            assert 0 <= float(row["failed fraction"]) <= 1, row
    print("%s: %d rows, %d text labels: ok" % (name, len(tables[0]), len(texts)))


def main():
    script, chord_sim = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, script, chord_sim, "--tiny", "--out", out], check=True)
        for name in paper_figures.EXPERIMENTS:
            check(out, name)
    print("paper_figures_test: ok")


if __name__ == "__main__":
    main()
