import pytest

from m2io.corpus.manual.debian import PackageError, fetch_package


def test_rejects_bad_names(tmp_path):
    with pytest.raises(PackageError, match="not a Debian package name"):
        fetch_package("../etc", tmp_path)


def test_unknown_package_is_a_clear_error(tmp_path):
    with pytest.raises(PackageError, match="apt-get download no-such-package-m2io failed"):
        fetch_package("no-such-package-m2io", tmp_path)
    assert not (tmp_path / "debs" / "no-such-package-m2io").exists()
