"""Keep the pages of one language from a manual that ships several.

Manuals put translations in folders named by locale (``en``, ``en-US``, ``pt_BR``) and mark
pages with ``<html lang>``. A path is kept unless one of its folders names another language.

>>> from pathlib import PurePosixPath as P
>>> other_language_folder(P("html/de-DE/apt.html"), "en"), other_language_folder(P("html/en-US/apt.html"), "en")
(True, False)
>>> other_language_folder(P("help/en/images/x.html"), "en"), other_language_folder(P("img/js/a.html"), "en")
(False, False)
"""
from __future__ import annotations

import re
from pathlib import PurePath

# ISO 639-1 codes: a folder named like one of these (plus an optional region) is a locale folder.
ISO_639_1 = set("""
aa ab af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii
ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi
mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw
sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk
ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
_LOCALE = re.compile(r"^([a-z]{2})(?:[-_@][A-Za-z0-9]{2,8})*$")


def folder_language(name: str) -> str | None:
    """The language a folder name stands for ('pt_BR' -> 'pt'), or None."""
    m = _LOCALE.match(name)
    return m.group(1) if m and m.group(1) in ISO_639_1 else None


def other_language_folder(rel_path: PurePath, lang: str) -> bool:
    """True if a folder on ``rel_path`` names a language other than ``lang``."""
    want = lang.lower().split("-")[0].split("_")[0]
    return any((code := folder_language(part)) is not None and code != want for part in rel_path.parent.parts)


def other_language_page(page_lang: str, lang: str) -> bool:
    """True if a page's ``<html lang>`` is set and names another language."""
    want = lang.lower().split("-")[0].split("_")[0]
    return bool(page_lang) and page_lang.lower().split("-")[0].split("_")[0] != want
