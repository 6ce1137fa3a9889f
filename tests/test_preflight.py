import pytest

from skewless.errors import SkewlessError
from skewless.flink import preflight


@pytest.mark.parametrize(("text", "major"), [
    ('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_392"', 8),
    ('openjdk version "11" 2018-09-25', 11), ("garbage", None),
])
def test_java_version_parsing(text, major):
    assert preflight.parse_java_major(text) == major


def test_missing_java_is_one_actionable_line(monkeypatch):
    monkeypatch.setattr(preflight, "java_executable", lambda: None)
    with pytest.raises(SkewlessError, match="install a JDK 11 or 17") as err:
        preflight.check_java()
    assert "\n" not in str(err.value)


def test_wrong_python_is_refused():
    with pytest.raises(SkewlessError, match="needs Python 3.11 \\(found 3.12\\)"):
        preflight.check_python((3, 12))
    preflight.check_python((3, 11))
