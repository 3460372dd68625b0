"""`build_backend/deskbot_build.py` imported by path, as the PEP 517 frontend finds it (`backend-path`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_build_backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deskbot_build", REPO / "build_backend" / "deskbot_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("deskbot_build", module)
    spec.loader.exec_module(module)
    return module
