"""The evaluation report: one self-contained HTML file, or a PDF from the same content.

The HTML embeds every chart as a PNG data URI, so the file can be mailed on its own. The PDF is
printed by Qt's own :class:`QPdfWriter` from a :class:`QTextDocument` holding the same HTML;
Qt's rich text does not read data URIs, so there the images are registered as document
resources under their names instead.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

log = logging.getLogger(__name__)

STYLE = """
body { font-family: sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 18px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: right; }
th { background: #eee; } td.name { text-align: left; }
tr.leaking td { background: #fde2dc; }
p.warning { background: #fde2dc; border: 1px solid #e8613c; padding: 6px; }
"""


@dataclass
class Report:
    """Sections of a report: headed paragraphs, tables and images, in order."""

    title: str
    parts: list[tuple[str, object]] = field(default_factory=list)
    images: dict[str, QImage] = field(default_factory=dict)

    def heading(self, text: str) -> None:
        self.parts.append(("h2", text))

    def paragraph(self, text: str, *, warning: bool = False) -> None:
        self.parts.append(("warning" if warning else "p", text))

    def table(self, header: list[str], rows: list[list], leaking_rows: set[int] = frozenset()):
        self.parts.append(("table", (header, rows, set(leaking_rows))))

    def key_values(self, pairs: list[tuple[str, object]]) -> None:
        self.table(["", ""], [[k, v] for k, v in pairs])

    def image(self, name: str, image: QImage) -> None:
        self.images[name] = image
        self.parts.append(("img", name))

    # output --------------------------------------------------------------------------------
    def to_html(self, *, embed: bool = True) -> str:
        out = [
            f"<html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
            f"<style>{STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>",
        ]
        for kind, value in self.parts:
            if kind == "h2":
                out.append(f"<h2>{html.escape(value)}</h2>")
            elif kind == "p":
                out.append(f"<p>{html.escape(value)}</p>")
            elif kind == "warning":
                out.append(f"<p class='warning'><b>{html.escape(value)}</b></p>")
            elif kind == "table":
                out.append(_table_html(*value))
            elif kind == "img":
                source = _data_uri(self.images[value]) if embed else value
                out.append(f"<p><img src='{source}' width='900'></p>")
        out.append("</body></html>")
        return "\n".join(out)

    def write_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_html(embed=True), encoding="utf-8")
        log.info("report written to %s", path)
        return path

    def write_pdf(self, path: str | Path) -> Path:
        path = Path(path)
        document = QTextDocument()
        document.setDefaultStyleSheet(STYLE)
        for name, image in self.images.items():
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
        document.setHtml(self.to_html(embed=False))
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Landscape,
                QMarginsF(12, 12, 12, 12),
            )
        )
        writer.setTitle(self.title)
        # At the writer's default 1,200 dpi the text lays out in pixels of the screen and fills
        # only part of the page, squeezing wide tables into broken words; at 96 dpi the page is
        # about as many pixels wide as the 900-pixel charts, so tables and charts fit it.
        writer.setResolution(96)
        document.setPageSize(QSizeF(writer.width(), writer.height()))
        document.print_(writer)
        log.info("PDF report written to %s", path)
        return path


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _table_html(header: list[str], rows: list[list], leaking: set[int]) -> str:
    out = ["<table>"]
    if any(header):
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for i, row in enumerate(rows):
        css = " class='leaking'" if i in leaking else ""
        cells = [f"<td class='name'>{_cell(row[0])}</td>"]
        cells += [f"<td>{_cell(v)}</td>" for v in row[1:]]
        out.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _data_uri(image: QImage) -> str:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return "data:image/png;base64," + base64.b64encode(bytes(data)).decode("ascii")


def panel_image(panel, width: int = 1600) -> QImage:
    """A chart panel's plots as an image (pyqtgraph's exporter, at ``width`` pixels)."""
    from pyqtgraph import exporters

    exporter = exporters.ImageExporter(panel.graphics.ci)
    exporter.parameters()["width"] = width
    return exporter.export(toBytes=True)
