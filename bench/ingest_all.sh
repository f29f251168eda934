#!/usr/bin/env bash
# Issue 26: every manual the ingest benches read, one after another (the machine has two cores).
# Debian packages are downloaded once into ~/.cache/m2io (never installed); posting's sdist from PyPI.
#   bash bench/ingest_all.sh            # writes bench/results/ingest/*.json
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-bench/results/ingest}
WORK=${WORK:-/tmp/m2io-ingest}
mkdir -p "$OUT" "$WORK"
pkg() { $PY -c "from m2io.corpus.manual.debian import fetch_package, default_cache_dir; print(fetch_package('$1', default_cache_dir()))"; }

# PDF with an HTML twin built from the same source (Texinfo; DocBook via dblatex).
O=$(pkg octave-doc)/usr/share/doc/octave
$PY bench/ingest_twins.py --reference html=$O/octave.html --candidate pdf=$O/octave.pdf --name octave \
    --keep $WORK/ds --out $OUT/octave-pdf.json
F=$(pkg freedombox-doc-en)/usr/share/freedombox/manual/en
mkdir -p $WORK/freedombox-html   # the one whole-manual page (the per-chapter parts repeat it)
ln -sfn $F/freedombox-manual.part.html $WORK/freedombox-html/ && ln -sfn $F/images $WORK/freedombox-html/images
$PY bench/ingest_twins.py --reference html=$WORK/freedombox-html --candidate pdf=$F/freedombox-manual.pdf \
    --name freedombox --keep $WORK/ds --out $OUT/freedombox-pdf.json
P=$(pkg pspp)
rm -rf $WORK/pspp.html && cp -r $P/usr/share/doc/pspp/pspp.html $WORK/pspp.html
ln -sfn $P/usr/share/info/screenshots $WORK/pspp.html/screenshots   # the package keeps them under info/
$PY bench/ingest_twins.py --reference html=$WORK/pspp.html --candidate pdf=$P/usr/share/doc/pspp/pspp.pdf \
    --name pspp --out $OUT/pspp-pdf.json
A=$(pkg asymptote-doc)/usr/share/doc/asymptote   # development twin (vector figures)
$PY bench/ingest_twins.py --reference html=$A/html --candidate pdf=$A/asymptote.pdf --name asymptote \
    --out $OUT/asymptote-pdf.json

# Retrieval over the same manual as HTML and as PDF.
rm -rf $WORK/idx-freedombox
$PY bench/ingest_retrieval.py --html $WORK/ds/freedombox-html --pdf $WORK/ds/freedombox-pdf \
    --index-root $WORK/idx-freedombox --out $OUT/freedombox-retrieval.json

# reST: built Sphinx HTML (the reference) and its own _sources/*.rst.txt with _images/.
for p in nextcloud-desktop-doc mu-editor-doc buildbot-doc sphinx-doc python-silx-doc; do
    root=$(dirname "$(find "$(pkg $p)" -type d -name _sources | head -1)")
    $PY bench/ingest_twins.py --reference html=$root --candidate rst=$root --name ${p%-doc} --out $OUT/${p%-doc}-rst.json
done
N=$(pkg nextcloud-desktop-doc)/usr/share/doc/nextcloud-desktop/html
$PY bench/ingest_source_counts.py rst=$N --name nextcloud --out $OUT/nextcloud-rst-counts.json

# Markdown: a MkDocs tree from PyPI (no built HTML ships; the reference is a count of the sources).
$PY -m pip download -q --no-deps --no-binary posting posting==2.11.1 -d $WORK/sdist
tar -xzf $WORK/sdist/posting-2.11.1.tar.gz -C $WORK
$PY bench/ingest_source_counts.py markdown=$WORK/posting-2.11.1 --name posting --out $OUT/posting-markdown.json

# Speed and memory on text pages.
$PY bench/pdf_reading.py --pages 100 1000 --repeats 3 --out $OUT/pdf-reading.json
