"""Memory maps are read in place, batch by batch, and their pages given back."""

import numpy as np
import pytest

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.bench.rss import peak_rss_growth, rss_available
from sk_klpenalty.compare.store import describe_job
from sk_klpenalty.memmap import MemmapRows, read_rows

requires_proc = pytest.mark.skipif(not rss_available(), reason="needs Linux /proc")


def _memmap(tmp_path, array, name="X.npy"):
    np.save(tmp_path / name, array)
    return np.load(tmp_path / name, mmap_mode="r")


def _mapped_rss(filename) -> int:
    """Bytes of ``filename``'s mappings resident in this process."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                inside = line.rstrip().endswith(str(filename))
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


@requires_proc
def test_fit_on_a_memmap_grows_far_less_than_the_data(tmp_path):
    rng = np.random.RandomState(0)
    n, features = 24_000, 2_000  # 48 MB of uint8; a float32 copy: 192 MB
    X = _memmap(tmp_path, rng.randint(0, 256, (n, features), dtype=np.uint8))
    y = rng.randint(0, 5, n)

    def fit():
        # Small batches: a shuffled batch of B rows maps up to B * 128 kB of
        # the file (the kernel maps 64 kB around each page fault).
        return KLPenaltyClassifier(max_epochs=1, batch_size=32, random_state=0).fit(
            X, y
        )

    fit().predict_proba(X[:64])  # torch's one-time allocations, not measured
    model, growth = peak_rss_growth(fit)
    assert growth < 0.5 * X.nbytes, f"peak RSS grew {growth / 2**20:.0f} MB"
    # Reading the map in place: pages are given back while training.
    assert _mapped_rss(X.filename) < 0.25 * X.nbytes
    proba, growth = peak_rss_growth(lambda: model.predict_proba(X))
    assert proba.shape == (n, 5)
    assert growth < 0.5 * X.nbytes, f"predict grew {growth / 2**20:.0f} MB"


def test_memmap_fit_equals_in_memory_fit(tmp_path, tiny_images):
    X, y = tiny_images
    X_map = _memmap(tmp_path, X)
    params = {"max_epochs": 2, "random_state": 0}
    np.testing.assert_array_equal(
        KLPenaltyClassifier(**params).fit(X_map, y).predict_proba(X_map),
        KLPenaltyClassifier(**params).fit(X, y).predict_proba(X),
    )


def test_float32_memmap_is_checked_for_nan_before_training(tmp_path, tiny_images):
    X, y = tiny_images
    X = X.copy()
    X[-1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KLPenaltyClassifier(max_epochs=1).fit(_memmap(tmp_path, X), y)


def test_only_read_only_maps_are_read_from_their_file(tmp_path):
    path = tmp_path / "data.bin"
    np.arange(4096 * 4, dtype=np.int32).tofile(path)
    read_only = np.memmap(path, dtype=np.int32, mode="r").reshape(64, 256)
    rows = MemmapRows.of(np.asarray(read_only)[10:])  # views of the map too
    np.testing.assert_array_equal(rows.take([5, 0, 5]), read_only[[15, 10, 15]])
    with pytest.raises(IndexError):
        rows.take([54])
    for mode in ("r+", "c"):  # writable or copy-on-write: in memory as ever
        assert MemmapRows.of(np.memmap(path, dtype=np.int32, mode=mode)) is None
    assert MemmapRows.of(np.zeros(10)) is None
    assert MemmapRows.of(read_only[:, ::2]) is None  # rows not contiguous


@requires_proc
@pytest.mark.parametrize("row_bytes", [64, 4096])  # through the map / preadv
def test_reading_rows_leaves_no_pages_resident(tmp_path, row_bytes):
    X = _memmap(tmp_path, np.ones((2**25 // row_bytes, row_bytes), dtype=np.uint8))
    rows = MemmapRows.of(X)
    order = np.random.default_rng(0).permutation(len(X))
    for batch in np.array_split(order, 64):  # one shuffled epoch: 32 MB read
        assert rows.take(batch).sum() == len(batch) * row_bytes
    assert _mapped_rss(X.filename) == 0


@requires_proc
def test_the_compare_jobs_data_digest_maps_no_page_of_a_memmap(tmp_path):
    # The job (not a worker) fingerprints X for --resume from 64 rows; mapped,
    # each would keep its page-cache folio (up to 2 MB) resident in the job.
    X = np.random.default_rng(0).integers(0, 256, (4096, 4096), dtype=np.uint8)
    X_map = _memmap(tmp_path, X)
    y = np.arange(len(X)) % 3

    def digest(data):
        job = describe_job(data, y, KLPenaltyClassifier(), None, [], [], None, 0)
        return job["data_sha256"]

    on_map = digest(X_map)
    assert _mapped_rss(X_map.filename) == 0
    assert on_map == digest(X)  # the same job as the data in memory
    assert on_map != digest(X[::-1])
    np.testing.assert_array_equal(read_rows(X_map, [7, 0, 7]), X[[7, 0, 7]])


def test_a_replaced_or_deleted_file_is_not_read_by_its_path(tmp_path):
    X = _memmap(tmp_path, np.ones((8, 4096), dtype=np.uint8))
    np.save(tmp_path / "new.npy", np.zeros((8, 4096), dtype=np.uint8))
    (tmp_path / "new.npy").replace(tmp_path / "X.npy")  # X still maps the old
    assert MemmapRows.of(X) is None or rss_available() is False
    (tmp_path / "X.npy").unlink()
    assert MemmapRows.of(X) is None
    model = KLPenaltyClassifier(max_epochs=1, classes=[0, 1]).fit(X, [0, 1] * 4)
    assert model.predict_proba(X).shape == (8, 2)  # read through the map
