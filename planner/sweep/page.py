"""``sweep.html``: the trade-off curves of a sweep as inline SVG, and its table — one file, no script, no network.

One chart per swept option and figure (people covered, chargers, capex of the final stage), one curve per
value of the other swept options. Every chart draws every row: a filled dot when the plan is proven
optimal, a hollow one when it is not (time limit, gap), a cross on the axis when the point failed.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from planner.siting.scenario import setting
from planner.sweep.table import curves, scenario_value, stage_years, value_text, x_order

COLOURS = ("#1c7ed6", "#e8590c", "#2f9e44", "#7048e8", "#c2255c", "#0c8599", "#f08c00", "#5c940d")
#: Figures drawn against each swept option: (row field, label, divisor, unit shown).
METRICS = (("people_covered", "People covered", 1.0, "people"),
           ("chargers", "Chargers", 1.0, "chargers"),
           ("capex_cny", "Capex", 1e6, "M CNY"))
W, H = 560, 320
LEFT, RIGHT, TOP, BOTTOM = 78, 18, 16, 52


def _num(value: float) -> str:
    """A tick or value label: 1.25 M, 820 k, 42."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g} M"
    if a >= 1e4:
        return f"{value / 1e3:.3g} k"
    return f"{value:.4g}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out = []
    v = start
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    if out[-1] < hi:
        out.append(out[-1] + step)
    return out


def _x_positions(values: list[Any], x0: float, x1: float) -> dict[str, float]:
    """Where each distinct x value goes: to scale when they are numbers (none at the far right), else evenly."""
    import json

    ordered = sorted({json.dumps(v): v for v in values}.values(), key=x_order)
    numbers = [float(v) for v in ordered if isinstance(v, int | float) and not isinstance(v, bool)]
    rest = [v for v in ordered if not (isinstance(v, int | float) and not isinstance(v, bool))]
    pos: dict[str, float] = {}
    if len(numbers) >= 2 and all(v is None for v in rest):
        span_end = x1 - (0.14 * (x1 - x0) if rest else 0)
        lo, hi = min(numbers), max(numbers)
        for v in numbers:
            pos[json.dumps(v)] = x0 + (v - lo) / (hi - lo) * (span_end - x0)
        for v in rest:
            pos[json.dumps(v)] = x1
        return pos
    for i, v in enumerate(ordered):
        pos[json.dumps(v)] = (x0 + x1) / 2 if len(ordered) == 1 else x0 + i * (x1 - x0) / (len(ordered) - 1)
    return pos


def _x_label(name: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 1e4:
        return _num(float(value))
    return value_text(name, value)


def _chart(rows: list[dict[str, Any]], x: str, swept: list[str], metric: tuple[str, str, float, str],
           chart_id: int) -> str:
    import json

    field, label, divisor, unit = metric
    opt = setting(x)
    x_unit = f" ({opt.unit})" if opt is not None and opt.unit else ""
    px0, px1, py0, py1 = LEFT + 14, W - RIGHT - 14, H - BOTTOM, TOP
    xs = _x_positions([scenario_value(r, x) for r in rows], px0, px1)
    values = [r[field] / divisor for r in rows if r["status"] == "succeeded" and r.get(field) is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1.0)
    ticks = _ticks(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)  # counts and costs never below 0
    t0, t1 = ticks[0], ticks[-1]

    def ypos(v: float) -> float:
        return py0 - (v - t0) / (t1 - t0) * (py0 - py1)

    parts = [(f'<svg class="chart" data-chart="{chart_id}" data-x="{escape(x)}" data-metric="{field}" '
              f'viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
              f'aria-label="{escape(label)} against {escape(x)}">')]
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" class="plot"/>')
    for t in ticks:
        y = ypos(t)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(_num(t))}</text>')
    for ident, px in xs.items():
        value = json.loads(ident)
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{py0}" y2="{py0 + 5}" class="axis"/>'
                     f'<text x="{px:.1f}" y="{py0 + 18}" class="tick" text-anchor="middle">'
                     f'{escape(_x_label(x, value))}</text>')
    parts.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" class="axis-title" text-anchor="middle">'
                 f'{escape(x)}{escape(x_unit)}</text>')
    parts.append(f'<text x="14" y="{(TOP + py0) / 2}" class="axis-title" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(TOP + py0) / 2})">{escape(label)} ({escape(unit)})</text>')
    for i, curve in enumerate(curves(rows, x, swept)):
        colour = COLOURS[i % len(COLOURS)]
        done = [r for r in curve.rows if r["status"] == "succeeded" and r.get(field) is not None]
        if len(done) > 1:
            path = " ".join(f"{xs[json.dumps(scenario_value(r, x))]:.1f},{ypos(r[field] / divisor):.1f}" for r in done)
            parts.append(f'<polyline points="{path}" class="curve" stroke="{colour}" data-curve="{i}"/>')
        for r in curve.rows:
            px = xs[json.dumps(scenario_value(r, x))]
            tip = f"{curve.label}; {x} = {_x_label(x, scenario_value(r, x))}: "
            common = (f'data-key="{escape(r["key"])}" data-curve="{i}" data-status="{escape(r["status"])}" '
                      f'data-optimal="{str(bool(r.get("optimal"))).lower()}"')
            if r["status"] != "succeeded" or r.get(field) is None:
                tip += f"failed: {r.get('error') or 'no result'}"
                parts.append(f'<path class="pt failed" {common} d="M{px - 5:.1f},{py0 - 5:.1f}l10,10m0,-10l-10,10" '
                             f'stroke="{colour}"><title>{escape(tip)}</title></path>')
                continue
            v = r[field] / divisor
            tip += f"{_num(v)} {unit}; solver {r.get('solver_status')}, gap {r.get('solver_gap')}"
            cls, fill = ("pt optimal", colour) if r.get("optimal") else ("pt not-optimal", "#fff")
            parts.append(f'<circle class="{cls}" {common} data-value="{v:.6g}" cx="{px:.1f}" cy="{ypos(v):.1f}" '
                         f'r="5" fill="{fill}" stroke="{colour}"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><span class="swatch" style="background:{COLOURS[i % len(COLOURS)]}"></span>'
                     f'{escape(c.label)}</span>' for i, c in enumerate(curves(rows, x, swept)))
    title = f"{label} against {x}"
    return (f'<figure><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
            f'<div class="legend">{legend}</div></figure>')


def _table(rows: list[dict[str, Any]], swept: list[str]) -> str:
    years = stage_years(rows)
    head = (["point", *swept, "status"] + [f"capex {y} (M CNY)" for y in years]
            + ["chargers", "sites", "people covered", "trips covered", "solver", "gap", "reason"])
    out = ['<table class="sweep-table"><thead><tr>', *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        if r.get("run_id"):  # served by the service: the point is a run (from .../sweeps/{id}/page)
            href = f"../../runs/{r['run_id']}/sites"
        elif r.get("point_dir") and r["status"] == "succeeded":
            href = f"{r['point_dir']}/sites.geojson"
        else:
            href = ""
        key = f'<a href="{escape(href)}">{escape(r["key"])}</a>' if href else escape(r["key"])
        cells = [key,
                 *(escape(_x_label(a, scenario_value(r, a))) for a in swept), escape(r["status"])]
        cells += [("" if (r.get("stages") or {}).get(y, {}).get("capex_cny") is None
                   else f'{r["stages"][y]["capex_cny"] / 1e6:,.2f}') for y in years]
        cells += ["" if r.get(k) is None else f"{r[k]:,}" for k in ("chargers", "sites", "people_covered",
                                                                    "trips_covered")]
        gap = r.get("solver_gap")
        cells += [escape(r.get("solver_status") or ""), "" if gap is None else f"{gap:.2%}", escape(r.get("error") or "")]
        marks = f' class="{"failed" if r["status"] != "succeeded" else ("" if r.get("optimal") else "not-optimal")}"'
        out.append(f'<tr data-key="{escape(r["key"])}"{marks}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


CSS = """
body { font: 14px/1.45 system-ui, "Segoe UI", "Noto Sans", sans-serif; color: #1f2933; margin: 24px; background: #f5f7fa; }
h1 { font-size: 20px; margin: 0 0 4px; } .muted { color: #627d98; margin: 0 0 14px; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid #d9e2ec; border-radius: 8px; padding: 8px 10px; }
figcaption { font-weight: 600; margin-bottom: 2px; }
.plot { fill: #fff; stroke: #bcccdc; } .grid { stroke: #e4e7eb; } .axis { stroke: #829ab1; }
.tick { font-size: 11px; fill: #486581; } .axis-title { font-size: 12px; fill: #334e68; }
.curve { fill: none; stroke-width: 2; } .pt { stroke-width: 2; } .pt.failed { fill: none; stroke-width: 2.5; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; max-width: 560px; }
.key { display: inline-flex; align-items: center; gap: 5px; }
.swatch { width: 12px; height: 12px; border-radius: 50%; display: inline-block; }
.swatch.hollow { background: #fff; border: 2px solid #334e68; box-sizing: border-box; }
.swatch.filled { background: #334e68; } .cross { font-weight: 700; color: #334e68; }
table { border-collapse: collapse; background: #fff; margin-top: 18px; font-size: 12.5px; }
th, td { border: 1px solid #d9e2ec; padding: 3px 7px; text-align: right; } th { background: #f0f4f8; }
td:first-child, td:last-child { text-align: left; } tr.failed td { color: #c92a2a; } tr.not-optimal td { font-style: italic; }
"""


def render_page(table: dict[str, Any]) -> str:
    """The page of a sweep's table (``SweepResult.to_json()``)."""
    rows: list[dict[str, Any]] = table["rows"]
    swept: list[str] = list(table["axes"])
    xs = swept or [next(iter(table["grid"]), "budget_cny")]
    charts = [_chart(rows, x, swept, m, i * len(METRICS) + j) for i, x in enumerate(xs) for j, m in enumerate(METRICS)]
    not_optimal = sum(1 for r in rows if r["status"] == "succeeded" and not r.get("optimal"))
    failed = sum(1 for r in rows if r["status"] != "succeeded")
    base = ", ".join(f"{k} = {value_text(k, v)}" for k, v in (table.get("base") or {}).items()) or "the defaults"
    grid = "; ".join(f"{k}: {', '.join(_x_label(k, v) for v in vs)}" for k, vs in table["grid"].items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evplan sweep: {len(rows)} points</title>
<style>{CSS}</style></head>
<body data-points="{len(rows)}" data-charts="{len(charts)}" data-failed="{failed}" data-not-optimal="{not_optimal}">
<h1>Trade-off sweep: {len(rows)} points</h1>
<p class="muted">Grid: {escape(grid or "one point")}. Base: {escape(base)}. {len(rows) - failed} succeeded,
{failed} failed, {not_optimal} not proven optimal. Figures are of the final stage.</p>
<p class="legend"><span class="key"><span class="swatch filled"></span>proven optimal</span>
<span class="key"><span class="swatch hollow"></span>not proven optimal (time limit or gap)</span>
<span class="key"><span class="cross">×</span>failed (reason in the table)</span></p>
<div class="charts">{"".join(charts)}</div>
{_table(rows, swept)}
</body></html>
"""
