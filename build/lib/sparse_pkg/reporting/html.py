"""The markdown this package writes (tables, claims) as a standalone HTML page.

Snakemake's report shows an HTML file inline and offers a markdown file only as a download, so
each table is also written as HTML. Only what our writers emit is understood: ``#`` headings,
pipe tables with an alignment row, paragraphs whose lines end in two spaces (line breaks), and
inline ``code``, **bold** and *italic*. Everything else is escaped text, never raw HTML.
"""

from __future__ import annotations

import html
import re

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; vertical-align: top; }
th { background: #eee; }
td.right, th.right { text-align: right; white-space: nowrap; }
code { background: #f3f3f3; padding: 0 2px; }
p { max-width: 60em; }
"""

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*")


def inline(text: str) -> str:
    """Escape ``text`` and render its inline code, bold and italic spans."""
    out, position = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        code, bold, italic = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        else:
            out.append(f"<em>{html.escape(italic)}</em>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    """The cells of a pipe-table row; ``\\|`` inside a cell is a literal bar."""
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def _table(lines: list[str]) -> str:
    header, align, rows = _cells(lines[0]), _cells(lines[1]), [_cells(x) for x in lines[2:]]
    right = [a.endswith(":") and not a.startswith(":") for a in align]

    classes = [' class="right"' if r else "" for r in right]

    def row(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}{classes[i] if i < len(classes) else ''}>{inline(c)}"
                                f"</{tag}>" for i, c in enumerate(cells)) + "</tr>"

    body = "\n".join(row(r, "td") for r in rows)
    return f"<table>\n<thead>{row(header, 'th')}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _is_table_start(lines: list[str], i: int) -> bool:
    return (lines[i].startswith("|") and i + 1 < len(lines)
            and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()) is not None)


def markdown_to_html(text: str, title: str) -> str:
    """A whole HTML page with ``text`` (our markdown) rendered, titled ``title``."""
    lines = text.splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif heading := re.match(r"(#{1,6})\s+(.*)", line):
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
        elif _is_table_start(lines, i):
            end = i + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            blocks.append(_table(lines[i:end]))
            i = end
        else:
            paragraph = []
            while (i < len(lines) and lines[i].strip() and not lines[i].startswith("#")
                   and not _is_table_start(lines, i)):
                paragraph.append(inline(lines[i].rstrip()))
                i += 1
            blocks.append("<p>" + "<br>\n".join(paragraph) + "</p>")
    body = "\n".join(blocks)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
