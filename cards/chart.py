"""The digest's chart: new vs resolved tickets per day with the response SLA %, a PNG drawn by matplotlib (Agg).

Drawing takes tens of milliseconds of CPU, so callers run `draw` in a worker thread (`asyncio.to_thread`), once per
digest run. Chinese labels need a CJK font: the first one installed of CJK_FONTS is used (the Dockerfile installs
WenQuanYi Micro Hei); without one, labels fall back to English rather than drawing empty boxes.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from functools import cache

from bot.i18n import translator
from bot.kpis import DailyPoint

log = logging.getLogger(__name__)

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC")
WIDTH_PX, HEIGHT_PX, DPI = 1000, 480, 100
_DRAWING = threading.Lock()  # matplotlib's font cache and text layout are not made for concurrent figures


def _(msgid: str) -> str:
    """Mark a msgid for extraction."""
    return msgid


LABELS = (_("New"), _("Resolved"), _("SLA response met %"), _("Tickets per day"))


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None (looked up once)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        log.warning("no CJK font found (install fonts-wqy-microhei or fonts-noto-cjk): charts are labelled in English")
    return found


def draw(points: Sequence[DailyPoint], *, languages: Sequence[str], title: str) -> bytes:
    """A PNG (WIDTH_PX × HEIGHT_PX) of `points`: bars of new and resolved per day, a line of SLA response %.

    Drawn once for every reader of a run: with several `languages` each label says it in each ("新建 / New").
    """
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit: a server draws into memory
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    wanted = list(dict.fromkeys(languages)) or ["en"]
    if font is None and any(language.startswith("zh") for language in wanted):
        # Clean fallback: English labels, and no title that could show as boxes.
        wanted, title = ["en"], title if title.isascii() else ""
    translators = [translator(language) for language in wanted]

    def say(msgid: str) -> str:
        return " / ".join(dict.fromkeys(each._(msgid) for each in translators))

    with _DRAWING:
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        # The font per text, not through the global rcParams, which every thread would share.
        family = {"fontfamily": [font, "DejaVu Sans"]} if font else {}
        xs = list(range(len(points)))
        width = 0.4
        axes.bar([x - width / 2 for x in xs], [p.new for p in points], width, label=say("New"), color="#4e79a7")
        axes.bar([x + width / 2 for x in xs], [p.resolved for p in points], width, label=say("Resolved"),
                 color="#59a14f")
        axes.set_xticks(xs, [p.day.strftime("%m-%d") for p in points], rotation=45, fontsize=8)
        axes.set_ylabel(say("Tickets per day"), **family)
        sla = axes.twinx()
        known = [(x, p.sla_pct) for x, p in zip(xs, points, strict=True) if p.sla_pct is not None]
        if known:
            sla.plot([x for x, _pct in known], [pct for _x, pct in known], color="#e15759", marker="o",
                     label=say("SLA response met %"))
        sla.set_ylim(0, 105)
        sla.set_ylabel(say("SLA response met %"), **family)
        handles = axes.get_legend_handles_labels()[0] + sla.get_legend_handles_labels()[0]
        labels = axes.get_legend_handles_labels()[1] + sla.get_legend_handles_labels()[1]
        legend = axes.legend(handles, labels, loc="upper left", fontsize=9)
        if font:
            for text in legend.get_texts():
                text.set_fontfamily([font, "DejaVu Sans"])
        if title:
            axes.set_title(title, **family)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
