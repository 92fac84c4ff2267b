"""JUnit XML, so that a theory repository can run its claims in CI and see each claim as a test.

One ``testcase`` per result (``classname`` the family, ``name`` the claim id and the sweep cell):
``disagrees`` and ``inconclusive`` are failures (``type`` says which), ``error`` is an error; the checks
and controls go to ``system-out``. Exit codes stay those of ``theorycheck run``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from theorycheck.report.documents import cell_label, varying, write_atomic
from theorycheck.report.terminal import format_value


def junit_xml(results: Sequence, suite: str = "theorycheck") -> str:
    names = varying(results)
    failures = sum(r.verdict.value in ("disagrees", "inconclusive") for r in results)
    errors = sum(r.verdict.value == "error" for r in results)
    root = ET.Element("testsuites", name=suite, tests=str(len(results)), failures=str(failures),
                      errors=str(errors), time=f"{sum(r.seconds for r in results):.3f}")
    tests = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        cell = cell_label(r, names)
        case = ET.SubElement(tests, "testcase", classname=f"theorycheck.{r.claim.split('.', 1)[0]}",
                             name=r.claim + (f"[{cell}]" if cell else ""), time=f"{r.seconds:.3f}")
        verdict = r.verdict.value
        if verdict in ("disagrees", "inconclusive"):
            ET.SubElement(case, "failure", type=verdict, message=f"{verdict}: {r.message}").text = r.message
        elif verdict == "error":
            ET.SubElement(case, "error", type="error", message=r.message).text = r.message
        lines = [f"verdict: {verdict}{' (stored run)' if r.cached else ''}; seeds {r.seeds}; level {r.level}; "
                 f"preset {r.preset}"]
        lines += [f"{c.role} ({c.quantifier}) {c.name}: {format_value(c)} passed={c.passed}" for c in r.checks]
        lines += [f"control ({c.quantifier}) {c.name}: {format_value(c)} margin={c.margin:.3g} "
                  f"rejected={c.passed is False}" for c in r.controls]
        ET.SubElement(case, "system-out").text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: Sequence, path: Path) -> None:
    write_atomic(path, junit_xml(results))
