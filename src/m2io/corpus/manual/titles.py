"""Name pages and sections the way a reader would: without the site's name, never ambiguous.

Generated manuals put the site's name in every page title ("d.background - GRASS GIS manual",
"Layers — Docs") and often repeat section titles on every page ("DESCRIPTION", "EXAMPLES").
The site name is the title part that most pages share; a section whose heading path repeats on
other pages is named with its page's title ("d.background: Examples").

>>> titles = ["d.background - GRASS GIS manual", "d.legend - GRASS GIS manual", "r.slope - GRASS GIS manual"]
>>> site = site_name(titles)
>>> site
SiteName(text='GRASS GIS manual', separator=' - ', suffix=True)
>>> page_name(titles[0], site)
'd.background'
>>> section_name("EXAMPLES", "d.background", repeated=True)
'd.background: Examples'
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

SEPARATORS = (" - ", " | ", " \u2014 ", " \u2013 ", " :: ", " \u00b7 ", " \u00bb ")
MIN_SHARE = 0.5
"""A title part is the site's name if at least this share of the pages (and three of them) carry it."""


@dataclass(frozen=True)
class SiteName:
    text: str
    separator: str
    suffix: bool
    """True: "<page><sep><site>"; False: "<site><sep><page>"."""


def site_name(titles: list[str]) -> SiteName | None:
    """The part most page titles share before or after a separator, if most pages share it."""
    counts: Counter = Counter()
    for title in set(titles):
        for sep in SEPARATORS:
            if sep in title:
                head, _, tail = title.rpartition(sep)
                counts[SiteName(tail.strip(), sep, True)] += 1
                first, _, rest = title.partition(sep)
                counts[SiteName(first.strip(), sep, False)] += 1
    if not counts:
        return None
    best, n = counts.most_common(1)[0]
    distinct = len(set(titles))
    return best if best.text and n >= 3 and n >= MIN_SHARE * distinct else None


def page_name(title: str, site: SiteName | None) -> str:
    """``title`` without the site's name."""
    if site is None:
        return title
    if site.suffix and title.endswith(site.separator + site.text):
        return title[: -len(site.separator + site.text)].strip() or title
    if not site.suffix and title.startswith(site.text + site.separator):
        return title[len(site.text + site.separator):].strip() or title
    return title


def _readable(title: str) -> str:
    """'EXAMPLES' -> 'Examples'; mixed-case titles are left as they are."""
    letters = [c for c in title if c.isalpha()]
    return title.capitalize() if len(letters) > 3 and all(c.isupper() for c in letters) else title


def section_name(title: str, page: str, repeated: bool) -> str:
    """A section's title, prefixed with its page's name where the heading path repeats across pages."""
    if not repeated or not page or page.lower() == title.lower():
        return title
    return f"{page}: {_readable(title)}"
