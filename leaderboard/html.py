"""A static HTML page for sharing results: one file, no server, nothing fetched.

Tables sort by clicking a header (inline script; a difference row stays under the row it belongs
to, group headings stay on top of their group); plots are inline SVG. Every cell's runs (or
published source) are in its ``title`` tooltip, so provenance travels with the page.
"""

from __future__ import annotations

import html
import math

from zsbench.leaderboard.table import Table, format_cell

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0 2em}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{cursor:pointer;background:#f4f4f4;user-select:none}
thead th[aria-sort=ascending]::after{content:" \\25B2"}
thead th[aria-sort=descending]::after{content:" \\25BC"}
tr.group th{text-align:left;font-style:italic;background:#fafafa}
tr.published td{color:#555}
tr.delta td{color:#777;font-size:90%}
td.best{font-weight:bold}
td.second{text-decoration:underline}
figure{margin:1em 0 2em}
.notes{color:#555;font-size:90%}
"""

# Sort the rows of each tbody by the clicked column; numeric cells sort by data-v.
SCRIPT = """
document.querySelectorAll("table.lb").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      table.querySelectorAll("tbody").forEach(function (body) {
        var head = [], blocks = [];
        Array.prototype.forEach.call(body.rows, function (row) {
          if (row.classList.contains("group")) { head.push(row); }
          else if (row.classList.contains("delta") && blocks.length) { blocks[blocks.length - 1].push(row); }
          else { blocks.push([row]); }
        });
        function key(block) {
          var cell = block[0].cells[col];
          if (!cell) { return null; }
          var v = cell.getAttribute("data-v");
          return v === null ? cell.textContent.trim() : (v === "" ? null : parseFloat(v));
        }
        blocks.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === y) { return 0; }
          if (x === null) { return 1; }
          if (y === null) { return -1; }
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        head.concat.apply(head, blocks).forEach(function (row) { body.appendChild(row); });
      });
    });
  });
});
"""


def _table(table: Table, show_ci: bool) -> str:
    ranks = table.ranks()
    esc = html.escape
    out = [f'<h2>{esc(table.title)}</h2>', f'<table class="lb" data-shape="{esc(table.shape)}">',
           "<thead><tr>" + f"<th>{esc(table.row_header)}</th>"
           + "".join(f'<th data-kind="{esc(c.kind)}">{esc(c.label)}</th>' for c in table.columns) + "</tr></thead>"]
    groups = table.visible_groups()
    for group in groups:
        out.append("<tbody>")
        if len(groups) > 1 and group.title:
            out.append(f'<tr class="group"><th colspan="{len(table.columns) + 1}">{esc(group.title)}</th></tr>')
        for row in group.rows:
            cells = [f"<td>{esc(row.label)}</td>"]
            for c in table.columns:
                cell = row.cells.get(c.key)
                value = "" if cell is None or math.isnan(cell.value) else f"{cell.value:.6g}"
                rank = ranks.get((id(row), c.key))
                klass = {1: ' class="best"', 2: ' class="second"'}.get(rank, "")
                tip = ""
                if cell is not None:
                    why = ", ".join(cell.runs) if cell.runs else ""
                    why = "; ".join(x for x in (f"runs {why}" if why else "", cell.source or "", *cell.why) if x)
                    tip = f' title="{esc(why)}"' if why else ""
                cells.append(f'<td data-v="{value}"{klass}{tip}>{esc(format_cell(cell, show_ci))}</td>')
            out.append(f'<tr class="{esc(row.kind)}">' + "".join(cells) + "</tr>")
        out.append("</tbody>")
    out.append("</table>")
    if table.notes or table.legend():
        out.append('<p class="notes">' + "<br>".join(esc(n) for n in table.notes + table.legend()) + "</p>")
    return "\n".join(out)


def page(tables: list[Table], plots: list[tuple[str, str]], title: str = "zsbench leaderboard",
         show_ci: bool = False, subtitle: str = "") -> str:
    """``plots``: (caption, inline SVG) pairs."""
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="notes">{esc(subtitle)}</p>')
    body += [_table(t, show_ci) for t in tables if not t.empty]
    for caption, svg in plots:
        body.append(f'<figure class="plot">{svg}<figcaption>{esc(caption)}</figcaption></figure>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n" + "\n".join(body)
            + f"\n<script>{SCRIPT}</script>\n</body></html>\n")
