"""Printing a report page to A4 PDF with headless Chromium, and fitting it so that no page is more than half blank.

Apart from the report module because it starts a process: the browser, with a fixed argument list on a
temporary file (never a shell, never a request value); the service does not call it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.fleet.report import set_print_zoom

#: No printed page may be more than half blank: the lowest text of every page lies below its middle.
MIN_PAGE_FILL = 0.5
#: ``fit_for_print`` aims the last page this much above ``MIN_PAGE_FILL``, so that another machine's fonts
#: (a line or two longer or shorter) do not tip it over.
FIT_MARGIN = 0.05
#: The print zooms ``fit_for_print`` tries, nearest the designed print size first (below 0.85 of it the text
#: gets hard to read; above 1.15 the tables crowd).
PRINT_ZOOM_STEPS = (1.0, 0.97, 1.03, 0.94, 1.06, 0.91, 1.09, 0.88, 1.12, 0.85, 1.15)


@dataclass(frozen=True)
class PrintFit:
    """A page fitted for A4 print: its HTML (print zoom set), the PDF Chromium printed from it, each page's fill.

    A page's fill is the fraction of its height from the top edge down to its lowest line of text.
    """

    html: str
    zoom: float
    pdf: bytes
    fills: tuple[float, ...]

    @property
    def fits(self) -> bool:
        return bool(self.fills) and min(self.fills) >= MIN_PAGE_FILL

    @property
    def fits_with_margin(self) -> bool:
        """Fits, and the last page is ``FIT_MARGIN`` fuller than it must be."""
        return self.fits and self.fills[-1] >= MIN_PAGE_FILL + FIT_MARGIN


def find_chromium(chromium: str | None = None) -> str:
    """The headless browser that prints the report: ``chromium`` if given, else Debian's ``chromium`` on the PATH."""
    found = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("printing the report needs Chromium (Debian: apt-get install chromium); none on the PATH")
    return found


def print_pdf(page: str, *, chromium: str | None = None, timeout_s: float = 180.0) -> bytes:
    """The report page printed to PDF by headless Chromium (A4 from the page's ``@page`` rule)."""
    browser = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="evplan-print-") as tmp:
        html_path, pdf_path = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        html_path.write_text(page, encoding="utf-8")
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-pdf-header-footer", f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={pdf_path}",
             html_path.as_uri()], capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0 or not pdf_path.is_file():
            raise RuntimeError(f"{browser} could not print the report (exit {done.returncode}): "
                               f"{done.stderr.strip()[-500:]}")
        return pdf_path.read_bytes()


def page_fills(pdf: bytes) -> tuple[float, ...]:
    """Per page of ``pdf``, the fraction of its height from the top down to its lowest line of text (0: none)."""
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # a development dependency: measuring pages is for fitting and checking prints
        raise RuntimeError("measuring the printed pages needs pypdf (pip install pypdf)") from exc
    fills = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        lows: list[float] = []

        def visit(text: str, cm: Sequence[float], tm: Sequence[float], *_: Any, lows: list[float] = lows) -> None:
            if text.strip():
                lows.append(tm[5] * cm[3] + cm[5])

        page.extract_text(visitor_text=visit)
        fills.append(0.0 if not lows else min(1.0, max(0.0, (height - min(lows)) / height)))
    return tuple(fills)


def fit_for_print(page: str, *, chromium: str | None = None, max_prints: int = 7) -> PrintFit:
    """Find a print zoom at which no A4 page of the report is more than half blank, by printing and measuring.

    The sections flow with no forced page breaks, so mostly the last page ends short (an inner page ends
    short only where a chart, which is never split, moves on to the next page). Charts are whole blocks,
    so the printed height does not follow the zoom smoothly; rather than predict it, the page is printed
    at the zooms of ``PRINT_ZOOM_STEPS`` nearest 1 first, each print measured, until one fits with the
    last page ``FIT_MARGIN`` fuller than it must be (at most ``max_prints`` prints). Returns that one,
    else the best one tried (``PrintFit.fits`` says whether it fits at all).
    """
    tried: list[PrintFit] = []
    for zoom in PRINT_ZOOM_STEPS[:max_prints]:
        html_z = set_print_zoom(page, zoom)
        pdf = print_pdf(html_z, chromium=chromium)
        tried.append(PrintFit(html_z, zoom, pdf, page_fills(pdf)))
        if tried[-1].fits_with_margin:
            break
    return max(tried, key=lambda f: (f.fits_with_margin, f.fits, min(f.fills, default=0.0), -abs(1 - f.zoom)))
