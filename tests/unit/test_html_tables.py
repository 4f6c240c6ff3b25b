"""reporting.html: our markdown tables as HTML pages for Snakemake's report."""

from __future__ import annotations

from sparse_pkg.reporting.html import inline, markdown_to_html

TABLE = """**Table 1. MNIST**

demo run · seeds 42–43\x20\x20
Made by sparse_pkg 0.2.0 (commit abc).

### Protocol `paper`: best epoch

| Network | Test score | Note |
|---|---:|---|
| Dense CNN-1 | 98.10 ± 0.20 | a \\| b |
| <script> | *not run* | **x** |
"""


def test_tables_become_html_tables_with_alignment_and_escaped_cells():
    page = markdown_to_html(TABLE, "Table 1")
    assert page.startswith("<!DOCTYPE html>") and "<title>Table 1</title>" in page
    assert ('<thead><tr><th>Network</th><th class="right">Test score</th><th>Note</th></tr>'
            "</thead>") in page
    assert '<tr><td>Dense CNN-1</td><td class="right">98.10 ± 0.20</td><td>a | b</td></tr>' in page
    assert "<td>&lt;script&gt;</td>" in page and "<script>" not in page
    assert "<em>not run</em>" in page and "<strong>x</strong>" in page
    assert "<h3>Protocol <code>paper</code>: best epoch</h3>" in page


def test_header_lines_keep_their_breaks():
    page = markdown_to_html(TABLE, "t")
    assert "<p>demo run · seeds 42–43<br>\nMade by sparse_pkg 0.2.0 (commit abc).</p>" in page
    assert "<p><strong>Table 1. MNIST</strong></p>" in page


def test_inline_spans_do_not_leak_markup():
    assert inline("a `<b>` *c* & d") == "a <code>&lt;b&gt;</code> <em>c</em> &amp; d"
