"""The notebooks under notebooks/: stored without outputs, and each one runs without error.

Execution needs the optional notebook tools (``pip install matplotlib nbclient nbformat
ipykernel``) and a Jupyter kernel named ``python3`` that runs this interpreter: ipykernel's own
spec (argv ``python -m ipykernel_launcher``, which jupyter_client maps to ``sys.executable``) or
one installed with ``python -m ipykernel install --sys-prefix``. Each notebook is executed from
an in-memory copy with ``notebooks/`` as working directory; nothing is written back.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01-quickstart.ipynb", "02-investigate-a-cluster.ipynb",
            "03-choosing-the-window.ipynb", "04-from-coortweet.ipynb"]
PATHS = [NOTEBOOKS / name for name in EXPECTED]
CELL_TIMEOUT_S = 120

nbformat = pytest.importorskip("nbformat")


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(_code_cells(nb)):
        assert cell.execution_count is None, f"{path.name} cell {i}: execution_count stored"
        assert cell.outputs == [], f"{path.name} cell {i}: outputs stored"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_holds_no_library_code(path):
    """Notebooks use cib; functions and classes belong in the package."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(_code_cells(nb)):
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert not defs, f"{path.name} cell {i} defines {[d.name for d in defs]}"
    assert "import cib" in "\n".join(c.source for c in _code_cells(nb))


def _kernel_or_skip() -> str:
    """The kernel name to use; fail with a clear message if it would run another Python."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:  # pragma: no cover - environment
        pytest.fail("no 'python3' Jupyter kernel: run `python -m ipykernel install --sys-prefix`")
    exe = spec.argv[0]
    plain = {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}
    if exe not in plain:  # an absolute path: it must be this interpreter
        resolved = shutil.which(exe) or exe
        if Path(resolved).resolve() != Path(sys.executable).resolve():
            pytest.fail(f"the 'python3' kernel runs {exe}, not {sys.executable}: run "
                        f"`{sys.executable} -m ipykernel install --sys-prefix`")
    return "python3"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_executes(path, capsys):
    kernel = _kernel_or_skip()
    from nbclient import NotebookClient

    before = hashlib.sha256(path.read_bytes()).hexdigest()
    nb = nbformat.read(path, as_version=4)  # an in-memory copy; never written back
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=kernel,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start

    errors = [out for cell in _code_cells(nb) for out in cell.outputs
              if out.get("output_type") == "error"]
    assert not errors, errors
    assert all(cell.execution_count is not None for cell in _code_cells(nb))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the notebook was modified"
    with capsys.disabled():
        print(f"\n{path.name}: {elapsed:.1f} s")
