"""The README's "Call it from Python / TypeScript / curl" examples, run as written against the
running suite: the curl block with bash, the Python block with this interpreter, and the
TypeScript block type-checked (tsc, strict) against types generated from the suite's own
/openapi.json, as the README says to, then run with Node."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tollgate_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "node_modules" / ".bin"
HEADING = "## Call it from Python / TypeScript / curl"

pytestmark = pytest.mark.e2e


def _blocks() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(HEADING, 1)[1].split("\n## ", 1)[0]
    blocks = dict(re.findall(r"```(sh|python|ts)\n(.*?)```", section, flags=re.DOTALL))
    assert set(blocks) == {"sh", "python", "ts"}, "one example per language"
    return blocks


def _run(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]}: {done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def env(stack: Stack) -> dict[str, str]:
    return {**os.environ, "TOLLGATE_URL": stack.http_url("gateway")}


def test_the_curl_example(env: dict[str, str]) -> None:
    assert shutil.which("curl"), "curl is needed"
    out = _run(["bash", "-euo", "pipefail", "-c", _blocks()["sh"]], env)
    assert out.splitlines() == ["balance 3500", "refused INSUFFICIENT_FUNDS"]


def test_the_python_example(env: dict[str, str]) -> None:
    out = _run([sys.executable, "-c", _blocks()["python"]], env)
    assert out.splitlines() == ["balance 3500", "refused 400 INSUFFICIENT_FUNDS"]


def test_the_typescript_example(env: dict[str, str], tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed"
    schema = f"{env['TOLLGATE_URL']}/openapi.json"
    _run([str(TOOLS / "openapi-typescript"), schema, "-o", str(tmp_path / "tollgate.ts")], env)
    (tmp_path / "main.ts").write_text(_blocks()["ts"])
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    config = {
        "compilerOptions": {
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "strict": True,
            "noEmitOnError": True,
            "skipLibCheck": True,
            "lib": ["es2022"],
            "types": ["node"],
            "typeRoots": [str(ROOT / "node_modules" / "@types")],
            "outDir": "out",
        },
        "files": ["main.ts", "tollgate.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    _run([str(TOOLS / "tsc"), "-p", str(tmp_path)], env, cwd=tmp_path)
    (tmp_path / "out" / "package.json").write_text(json.dumps({"type": "module"}))
    out = _run([node, str(tmp_path / "out" / "main.js")], env, cwd=tmp_path)
    assert out.splitlines() == ["balance 3500", "refused 400 INSUFFICIENT_FUNDS"]
