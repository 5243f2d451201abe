"""Arrow's allocator during a run (the system's, so that freed string columns go back before the
next stage) and in the workers of the local Dask cluster."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cib._memory import release_memory, system_allocator


def test_system_allocator_inside_and_the_old_one_after():
    before = pa.default_memory_pool().backend_name
    with system_allocator():
        assert pa.default_memory_pool().backend_name == "system"
        arr = pa.array(["a" * 100] * 1000)  # made with the system allocator
    assert pa.default_memory_pool().backend_name == before
    assert arr[0].as_py() == "a" * 100  # still valid after the block
    release_memory()


def test_detect_and_read_actions_run_on_it(monkeypatch):
    import cib
    from cib.io import read_actions

    seen = []
    real = pa.set_memory_pool

    def spy(pool):
        seen.append(pool.backend_name)
        real(pool)

    monkeypatch.setattr(pa, "set_memory_pool", spy)
    actions, _ = cib.simulate(n_accounts=60, n_groups=1, seed=1)
    cib.detect(actions, n_null=5, fdr_runs=0, discover=False)
    assert seen[0] == "system" and seen[-1] != "system"
    assert read_actions.__name__ == "read_actions" and "Parameters" in read_actions.__doc__


def test_local_cluster_workers_use_it():
    pytest.importorskip("distributed")
    from cib.distributed import local_client

    def backend():
        import pyarrow

        return pyarrow.default_memory_pool().backend_name

    with local_client(n_workers=1, processes=True) as client:
        assert set(client.run(backend).values()) == {"system"}
