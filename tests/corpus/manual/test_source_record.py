"""A corpus built from a Debian package records the package and version (model cards list them)."""
from m2io.corpus.manual.debian import SOURCE_FILE, read_source, write_source


def test_source_record_round_trip(tmp_path):
    root = tmp_path / "unpacked"
    root.mkdir()
    (root / ".m2io-unpacked").write_text("tuxpaint-data_1%3a0.9.28-sdl2-1_all.deb\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_source(corpus, "tuxpaint-data", root)
    assert read_source(corpus) == {"package": "tuxpaint-data", "version": "1:0.9.28-sdl2-1",
                                   "deb": "tuxpaint-data_1%3a0.9.28-sdl2-1_all.deb"}
    (corpus / SOURCE_FILE).write_text("{cut")
    assert read_source(corpus) is None and read_source(tmp_path) is None
