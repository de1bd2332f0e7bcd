"""Static file lookup never leaves its folder."""

from __future__ import annotations

from pathlib import Path

from gateway.web import _safe_file


def test_safe_file_stays_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "a.js").write_text("x")
    (tmp_path / "secret").write_text("s")
    resolved = root.resolve()
    assert _safe_file(resolved, "assets/a.js") == resolved / "assets" / "a.js"
    assert _safe_file(resolved, "../secret") is None
    assert _safe_file(resolved, "assets") is None
    assert _safe_file(resolved, "") is None
    assert _safe_file(resolved, "missing.js") is None


def test_a_name_too_long_for_the_file_system_is_just_missing(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert _safe_file(root, "a" * 300 + ".js") is None
    assert _safe_file(root, "assets/" + "b" * 5000) is None
