from pathlib import PurePosixPath as P

from m2io.corpus.manual.lang import folder_language, other_language_folder, other_language_page


def test_folder_language():
    assert [folder_language(n) for n in ["en", "en-US", "pt_BR", "sr@latin", "img", "js", "images"]] == \
        ["en", "en", "pt", "sr", None, None, None]


def test_other_language_folder_and_page():
    assert other_language_folder(P("html/fr-FR/x.html"), "en")
    assert not other_language_folder(P("html/en-US/x.html"), "en-GB")
    assert not other_language_folder(P("x.html"), "en")
    assert other_language_page("de", "en") and not other_language_page("en-US", "en") and not other_language_page("", "en")
