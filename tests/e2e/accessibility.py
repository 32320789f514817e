"""The accessibility check of a console page in the browser: axe-core run on what Chromium shows.

axe-core (tests/e2e/vendor/axe-core/, committed, so nothing is downloaded) is injected into the
page as a script file and run over the whole document with the WCAG 2.0, 2.1 and 2.2 A and AA
rules and axe's best practices. A violation of impact "serious" or "critical" fails the check;
"moderate" and "minor" ones are returned for the caller to report, not to fail on.

The console's Content-Security-Policy allows only its own scripts, so an injected one is blocked;
the pages checked here are opened in a browser context with ``bypass_csp=True`` (see
``tests/e2e/test_accessibility.py``). The check is of the markup, not of the policy, which the
other browser tests watch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE: Final = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.x A and AA (axe tags them per version), and axe's best practices (landmarks, one main,
# headings in order, unique ids...).
TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
BLOCKING: Final = frozenset({"serious", "critical"})

RUN_AXE: Final = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return result.violations.map((rule) => ({
    rule: rule.id,
    impact: rule.impact || "",
    help: rule.help,
    targets: rule.nodes.map((node) => node.target.map(String).join(" ")),
  }));
}"""


@dataclass(frozen=True, slots=True)
class Violation:
    """One axe rule broken on a page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    url: str

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:8]) + (" ..." if len(self.targets) > 8 else "")
        return f"{self.impact} {self.rule} ({self.help}) at {self.url}: {shown}"


def axe_violations(page: Page) -> list[Violation]:
    """Every axe violation on the page as it is now (A/AA and best practices), any impact."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, list(TAGS))
    return [
        Violation(v["rule"], v["impact"], v["help"], tuple(v["targets"]), page.url) for v in found
    ]


def assert_accessible(page: Page) -> list[Violation]:
    """Fail, listing each one, when the page has a serious or critical violation; the lesser
    ones otherwise (for the caller to report)."""
    found = axe_violations(page)
    blocking = [v for v in found if v.impact in BLOCKING]
    assert not blocking, "accessibility violations:\n" + "\n".join(f"  {v}" for v in blocking)
    return found
