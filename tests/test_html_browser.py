"""The HTML leaderboard page in a real headless browser (Debian's Chromium driven by Playwright):
its tables render, sort when a header is clicked, and its plots are drawn.

CI installs Chromium (`.ci/run`), so there this test always runs; elsewhere it is skipped,
saying why, only when Chromium is absent and CI is unset.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zsbench.leaderboard.render import render
from zsbench.evaluation.results import RunRecord

CHROMIUM = Path(os.environ.get("ZSBENCH_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _record(model, task, acc, run_id, strategy="template", n=None, seed=0, sweep=None, per_class=None) -> RunRecord:
    params = {"pooling": "embedding-mean"}
    if strategy == "augmented":
        params.update(n=n, seed=seed, bank_sha256="sha")
    rec = RunRecord(
        run_id=run_id, created=f"2026-01-01T00:00:{int(run_id[1:]):02d}Z", config={}, seed=seed,
        model={"name": model, "fingerprint": f"fp-{model}", "meta": {}},
        task={"id": task, "version": "1", "params": {}, "metric": "accuracy"},
        prompts={"strategy": strategy, "params": params, "bank_hash": f"b{seed}"},
        preprocessing={"sample_rate": 16000, "clip": {}, "crop": "seeded", "key": f"k{seed}"},
        metrics={"headline": "accuracy", "values": {"accuracy": acc}, "ci": None, "per_class": per_class or {}},
        timings={}, cache={}, packages={})
    if sweep is not None:
        rec.sweep_id = "sw-demo"
        rec.extra["sweep"] = {"id": "sw-demo", "index": sweep, "point": {"n": n, "seed": seed}, "axes": ["n", "seed"]}
    return rec


@pytest.fixture(scope="module")
def browser_page():
    if not CHROMIUM.exists() or not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser check, but {CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium, or set ZSBENCH_CHROMIUM)")
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api  # a dev dependency: CI installs it, so it must be there
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_html_page_renders_sorts_and_shows_plots(browser_page, tmp_path):
    recs = [_record("alpha", "esc50", 0.50, "r1", per_class={"dog": 0.2, "cat": 0.8, "rain": 0.5}),
            _record("beta", "esc50", 0.90, "r2", per_class={"dog": 0.9, "cat": 0.7, "rain": 0.6}),
            _record("gamma", "esc50", 0.70, "r3"),
            _record("alpha", "esc50", 0.60, "r4", "augmented", n=2)]
    i = 5
    for n in (1, 2, 3):
        for seed in (0, 1):
            recs.append(_record("alpha", "synthworld", 0.3 + 0.1 * n + 0.02 * seed, f"r{i}", "augmented", n=n,
                                seed=seed, sweep=i))
            i += 1
    page_file = tmp_path / "board.html"
    page_file.write_text(render(recs, fmt="html", compare=["r1", "r2"], published=True), encoding="utf-8")

    errors: list[str] = []
    page = browser_page
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(page_file.as_uri())

    shapes = page.eval_on_selector_all("table.lb", "ts => ts.map(t => t.dataset.shape)")
    assert shapes == ["classification", "sweep"]
    first_col = ("(t) => Array.from(t.querySelectorAll('tbody')[0].rows)"
                 ".filter(r => r.classList.contains('ours')).map(r => r.cells[0].textContent)")
    table = page.locator("table.lb").first
    assert table.evaluate(first_col) == ["alpha · template", "beta · template", "gamma · template"]
    assert table.locator("td.best").first.inner_text() == "93.9"  # published MS-CLAP 2023 beside ours
    assert table.locator("tr.group").count() == 2 and table.locator("tr.published").count() > 10

    esc50 = table.locator("thead th", has_text="esc50")
    esc50.click()  # ascending
    assert table.evaluate(first_col) == ["alpha · template", "gamma · template", "beta · template"]
    assert esc50.get_attribute("aria-sort") == "ascending"
    esc50.click()  # descending
    assert table.evaluate(first_col) == ["beta · template", "gamma · template", "alpha · template"]
    # group headings stay on top of their group after sorting
    assert table.evaluate("(t) => Array.from(t.tBodies).map(b => b.rows[0].className)") == ["group", "group"]

    sweep = page.locator("table.lb[data-shape=sweep]")
    assert sweep.locator("tbody tr").evaluate_all("rs => rs.map(r => r.cells[0].textContent)") == ["1", "2", "3"]
    sweep.locator("thead th", has_text="average").first.click()
    sweep.locator("thead th", has_text="average").first.click()
    assert sweep.locator("tbody tr").evaluate_all("rs => rs.map(r => r.cells[0].textContent)") == ["3", "2", "1"]
    assert "±" in sweep.locator("tbody tr").first.inner_text()

    plots = page.locator("figure.plot svg")
    assert plots.count() == 2
    for k in range(2):
        box = plots.nth(k).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100  # laid out, not collapsed
        assert plots.nth(k).locator("path").count() > 10  # drawn: axes, bars, lines
    assert "Per-class esc50" in page.locator("figure.plot figcaption").first.inner_text()
    assert not errors, errors
