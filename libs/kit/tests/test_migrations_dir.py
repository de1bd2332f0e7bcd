"""migrations_dir: the override, the wheel's bundled scripts, the checkout's service folder;
and upgrade refuses a directory without alembic's env.py before it touches PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tollgate_kit.db import migrations_dir, upgrade


def package_at(directory: Path, name: str = "fake_svc") -> ModuleType:
    """A package module whose files live in ``directory`` (as if imported from there)."""
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text("")
    module = ModuleType(name)
    module.__path__ = [str(directory)]
    return module


def test_checkout_finds_the_service_folder_next_to_src(tmp_path: Path) -> None:
    package = package_at(tmp_path / "fake-svc" / "src" / "fake_svc")
    (tmp_path / "fake-svc" / "migrations").mkdir()
    assert migrations_dir(package) == (tmp_path / "fake-svc" / "migrations").resolve()


def test_built_wheel_finds_the_scripts_inside_the_package(tmp_path: Path) -> None:
    package = package_at(tmp_path / "site-packages" / "fake_svc")
    (tmp_path / "site-packages" / "fake_svc" / "migrations").mkdir()
    bundled = tmp_path / "site-packages" / "fake_svc" / "migrations"
    assert migrations_dir(package) == bundled.resolve()


def test_bundled_scripts_win_over_the_checkout(tmp_path: Path) -> None:
    root = tmp_path / "fake-svc" / "src" / "fake_svc"
    package = package_at(root)
    (root / "migrations").mkdir()
    (tmp_path / "fake-svc" / "migrations").mkdir()
    assert migrations_dir(package) == root.resolve() / "migrations"


def test_override_wins_and_is_returned_as_given(tmp_path: Path) -> None:
    package = package_at(tmp_path / "site-packages" / "fake_svc")
    (tmp_path / "site-packages" / "fake_svc" / "migrations").mkdir()
    override = tmp_path / "elsewhere"
    assert migrations_dir(package, override) == override


def test_missing_migrations_raise_with_the_places_looked(tmp_path: Path) -> None:
    package = package_at(tmp_path / "fake-svc" / "src" / "fake_svc")
    with pytest.raises(FileNotFoundError, match="fake_svc") as caught:
        migrations_dir(package)
    assert str(tmp_path / "fake-svc" / "migrations") in str(caught.value)
    assert "MIGRATIONS_DIR" in str(caught.value)


def test_outside_a_src_layout_only_the_bundled_scripts_count(tmp_path: Path) -> None:
    package = package_at(tmp_path / "lib" / "fake_svc")
    (tmp_path / "migrations").mkdir()  # not a service folder: never picked up
    with pytest.raises(FileNotFoundError):
        migrations_dir(package)


def test_package_given_by_name_is_found_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "named-svc" / "src"
    (src / "named_fake_svc").mkdir(parents=True)
    (src / "named_fake_svc" / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (tmp_path / "named-svc" / "migrations").mkdir()
    monkeypatch.syspath_prepend(str(src))
    assert migrations_dir("named_fake_svc") == (tmp_path / "named-svc" / "migrations").resolve()


def test_a_plain_module_or_unknown_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an importable package"):
        migrations_dir(ModuleType("plain_module"))
    with pytest.raises(ValueError, match="not an importable package"):
        migrations_dir("no_such_package_anywhere")


async def test_upgrade_without_env_py_fails_before_creating_the_database(tmp_path: Path) -> None:
    # Nothing listens on port 1: reaching PostgreSQL would fail with a connection error.
    with pytest.raises(FileNotFoundError, match=r"no alembic env\.py"):
        await upgrade("postgresql://postgres@127.0.0.1:1/never_created", tmp_path)
