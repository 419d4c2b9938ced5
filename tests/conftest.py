import os
from pathlib import Path

#: under pytest-xdist (the README's command runs two workers) each worker takes one core:
#: one thread for torch, OpenMP, MKL and numba, in the worker and in the processes that its
#: tests start (set before torch is imported). Two threads in each of two workers on two
#: cores left OpenMP's waiting threads spinning, and tests ran up to ten times slower.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"

import pyro  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "PGM_DATA_DIR" not in os.environ and SHARED.is_dir():
    os.environ["PGM_DATA_DIR"] = str(SHARED)

# a single process (pytest -n 0) takes up to two threads
torch.set_num_threads(1 if WORKER else min(2, torch.get_num_threads()))


def real_data_dir() -> Path | None:
    d = os.environ.get("PGM_DATA_DIR")
    return Path(d) if d and (Path(d) / "binarized_mnist.npz").is_file() else None


@pytest.fixture
def data_dir() -> Path:
    """The directory of the real data sets; skips the test, saying why, without it."""
    d = real_data_dir()
    if d is None:
        pytest.skip("real data not found: set PGM_DATA_DIR or put shared/data beside the "
                    "checkout (see docs/data.md)")
    return d


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory) -> Path:
    """One folder for pgm's feature classifiers (pgm.metrics): one is trained per session,
    shared by the xdist workers (the cache is written atomically)."""
    if WORKER:  # the workers' temporary folders share a parent
        folder = tmp_path_factory.getbasetemp().parent / "classifiers"
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("classifiers")


@pytest.fixture
def one_thread():
    """Small tensors: one thread avoids contention with other work on the machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _fresh_pyro():
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    yield
    pyro.clear_param_store()


def all_binary(d: int, dtype=torch.float64) -> torch.Tensor:
    """Every binary vector of length d, ``(2**d, d)``."""
    idx = torch.arange(2**d)
    return ((idx[:, None] >> torch.arange(d)) & 1).to(dtype)
