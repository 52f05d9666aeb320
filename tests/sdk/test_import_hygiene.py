"""The SDK, the wrapper and the command registrations stay light: no heavy module at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("duckdb", "polars", "pyarrow", "pydantic", "torch", "faiss", "streamlit", "httpx", "starlette", "numpy")


def test_light_modules_import_nothing_heavy():
    code = (
        "import json, sys\n"
        "import hooks.sdk, hooks.wrapper, hooks.wrapper_cli, ingest.import_cli\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []
