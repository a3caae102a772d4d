"""The HTML report: one self-contained file (figures inlined) rendered from tables and stats."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .config import VARIANTS, RunConfig

CLAIMS = {
    "C1": (
        "SmartMixed (Phase 2) reaches 98.22 % validation and 98.03 % test accuracy on MNIST",
        "98.22 % val / 98.03 % test (paper v1/v2)",
    ),
    "C2": ("Phase 2 improves 2-3 % over Phase 1", "+2 to +3 points (paper v1/v2)"),
    "C3": (
        "Early layers prefer ReLU/LeakyReLU, deeper layers ELU/SELU, across architectures",
        "qualitative (paper)",
    ),
    "C4": (
        "SmartMixed competes with networks using one fixed activation",
        "ranks among 7 methods (paper v3)",
    ),
    "C5": (
        "The Phase 2 network is computationally efficient, close to a uniform network",
        "qualitative (paper)",
    ),
}

# Deviations that are not switches: how this suite differs from the official code regardless.
FIXED_DEVIATIONS = [
    "Several seeds per cell (official: one, 42) and statistics over them.",
    "Validation and test loss are sample-weighted means (official: mean of batch means); model "
    "selection can differ only when two epochs tie within that difference.",
    "Adam uses PyTorch's fused kernel by default (switch `fused_adam`): the same update up to "
    "float rounding.",
    "Data order, initialisation and Gumbel noise come from named generators derived from the run "
    "seed (official: the global RNG), so runs are bitwise repeatable and resumable on the CPU.",
    "Phase 2 and the uniform baselines of a seed share initial weights and batch order (paired "
    "design).",
]


def caption(figures_dir: Path, name: str) -> str:
    """A figure's caption: the report/figures/<name>.rst text without reST markup."""
    path = figures_dir / f"{name}.rst"
    text = path.read_text() if path.exists() else ""
    return re.sub(r"[`*]", "", text).strip()


def table_html(df: pd.DataFrame, floatfmt: str = "{:.3g}", max_rows: int = 60) -> Markup:
    """A DataFrame as an HTML table (pandas escapes the cells)."""
    if df is None or df.empty:
        return Markup("<p><em>(no rows)</em></p>")
    shown = df.head(max_rows)
    out = shown.to_html(
        index=False, classes="tbl", border=0, na_rep="", float_format=lambda v: floatfmt.format(v)
    )
    if len(df) > max_rows:
        out += f"<p class='note'>first {max_rows} of {len(df)} rows; all in the CSV file</p>"
    return Markup(out)


def deviations(run_config: dict[str, Any]) -> list[dict[str, str]]:
    """The SPEC section 3 switches in force, each with its faithful value."""
    defaults = RunConfig()
    rows = []
    for key, values in VARIANTS.items():
        value = run_config.get(key, getattr(defaults, key))
        rows.append(
            {
                "switch": key,
                "value": value,
                "faithful": values[0],
                "status": "faithful" if value == values[0] else "VARIANT",
            }
        )
    return rows


def render(
    template_dir: Path,
    workflow_config: dict[str, Any],
    verdicts: list[dict[str, Any]],
    tables: dict[str, pd.DataFrame],
    figures: dict[str, str],
    captions: dict[str, str],
    facts: dict[str, Any],
    study_figures: list[dict[str, str]] | None = None,
) -> str:
    """Render the report; `figures` maps name -> inline SVG markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["table"] = table_html
    tpl = env.get_template("template.html.j2")
    by_id = {v["id"]: v for v in verdicts}
    claims = []
    for cid, (text, paper) in CLAIMS.items():
        v = by_id.get(cid, {"verdict": "pending statistics", "numbers": ""})
        claims.append(
            {
                "id": cid,
                "text": text,
                "paper": paper,
                "verdict": v["verdict"],
                "numbers": v["numbers"],
                "css": v["verdict"].replace(" ", "-"),
            }
        )
    style = (template_dir / "style.css").read_text()
    return tpl.render(
        config=workflow_config,
        claims=claims,
        tables=tables,
        figures={k: Markup(v) for k, v in figures.items()},
        study_figures=[{**f, "svg": Markup(f["svg"])} for f in study_figures or []],
        captions=captions,
        facts=facts,
        deviations=deviations(workflow_config.get("run", {})),
        fixed_deviations=FIXED_DEVIATIONS,
        style=Markup(style),
        escape=html.escape,
    )


def inline_svg(path: Path) -> str:
    """SVG markup for inlining: XML prolog and DOCTYPE dropped."""
    text = path.read_text()
    return text[text.index("<svg") :]
