"""Tests for sk_klpenalty.datasets: rotated digits, UTKFace, image folders, npz."""

import io
import os
import re
import warnings

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from sk_klpenalty.datasets import images as images_module
from sk_klpenalty.datasets import (
    load_image_folder,
    load_npz,
    load_rotated_digits,
    load_utkface,
)
from sk_klpenalty.datasets import rotated_digits as rotated_digits_module

N_DIGITS = 1797  # images in sklearn.datasets.load_digits()

# --------------------------------------------------------------------------
# load_rotated_digits
# --------------------------------------------------------------------------

SMALL = dict(n_classes=5, max_angle=120.0, n_rotations=2, image_size=16)


@pytest.fixture(scope="module")
def small_digits():
    return load_rotated_digits(**SMALL, random_state=0, return_angles=True)


@pytest.fixture(scope="module")
def upright_digits():
    # A tiny max_angle gives the unrotated digits, in the same order.
    X, _ = load_rotated_digits(**{**SMALL, "max_angle": 1e-9}, random_state=0)
    return X


def test_defaults_shapes_dtypes_and_range():
    X, y = load_rotated_digits()
    assert X.shape == (N_DIGITS * 6, 1, 12, 12)
    assert X.dtype == np.float32
    assert y.shape == (N_DIGITS * 6,)
    assert y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert y.min() >= 0 and y.max() <= 23
    # Images are not blank: the digit survives upscaling and rotation.
    assert X.max() > 0.9
    assert np.all(X.reshape(len(X), -1).max(axis=1) > 0.2)


def test_small_config_shapes_and_every_class_present(small_digits):
    X, y, angles = small_digits
    assert X.shape == (N_DIGITS * 2, 1, 16, 16)
    assert angles.shape == y.shape == (N_DIGITS * 2,)
    assert angles.dtype == np.float64
    assert set(np.unique(y).tolist()) == set(range(SMALL["n_classes"]))


def test_angles_in_half_open_interval(small_digits):
    _, _, angles = small_digits
    assert np.all(angles >= -120.0) and np.all(angles < 120.0)
    # Uniform draws cover the whole interval, not a part of it.
    assert angles.min() < -110 and angles.max() > 110


def test_label_is_the_angle_bin(small_digits):
    _, y, angles = small_digits
    n_classes, max_angle = SMALL["n_classes"], SMALL["max_angle"]
    width = 2 * max_angle / n_classes
    expected = np.floor((angles + max_angle) / width).astype(np.int64)
    np.testing.assert_array_equal(y, expected)


def test_same_seed_same_data_other_seed_other_data(small_digits):
    X0, y0, a0 = small_digits
    X1, y1, a1 = load_rotated_digits(**SMALL, random_state=0, return_angles=True)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(a0, a1)
    X2, _, a2 = load_rotated_digits(**SMALL, random_state=1, return_angles=True)
    assert not np.array_equal(a0, a2)
    assert not np.array_equal(X0, X2)


def test_random_state_instance_matches_int_seed(small_digits):
    _, _, a0 = small_digits
    rng = np.random.RandomState(0)
    _, _, a1 = load_rotated_digits(**SMALL, random_state=rng, return_angles=True)
    np.testing.assert_array_equal(a0, a1)


def test_return_angles_false_returns_pair():
    result = load_rotated_digits(n_classes=3, n_rotations=1, image_size=8)
    assert len(result) == 2


def test_groups_are_the_digit_index(small_digits):
    X, y, groups = load_rotated_digits(**SMALL, return_groups=True)
    np.testing.assert_array_equal(X, small_digits[0])
    np.testing.assert_array_equal(groups, np.arange(len(y)) // SMALL["n_rotations"])


def test_default_groups_repeat_each_digit_n_rotations_times():
    *_, angles, groups = load_rotated_digits(return_angles=True, return_groups=True)
    values, counts = np.unique(groups, return_counts=True)
    assert len(values) == N_DIGITS and set(counts.tolist()) == {6}
    assert angles.shape == groups.shape == (N_DIGITS * 6,)


def test_digit_major_order_and_rotation_matches_angle(small_digits, upright_digits):
    """Sample k * n_rotations + r is digit k rotated by angles[...]."""
    X, _, angles = small_digits
    n_rot = SMALL["n_rotations"]
    upright = upright_digits[::n_rot, 0]  # one unrotated image per digit
    rotated_errors, unrotated_errors = [], []
    for i in np.flatnonzero(np.abs(angles) > 60)[:40]:
        reference = upright[i // n_rot]
        # scipy.ndimage.rotate is the convention the docstring promises.
        expected = ndimage.rotate(reference, angles[i], reshape=False, order=1)
        rotated_errors.append(np.abs(X[i, 0] - expected).mean())
        unrotated_errors.append(np.abs(X[i, 0] - reference).mean())
    assert len(rotated_errors) == 40
    # Rotating the upright digit by the returned angle reproduces the sample
    # (up to interpolation), whereas the unrotated digit is far from it.
    assert max(rotated_errors) < 0.02
    assert min(unrotated_errors) > 3 * max(rotated_errors)


def test_small_angle_image_is_close_to_upright(small_digits, upright_digits):
    X, _, angles = small_digits
    i = int(np.argmin(np.abs(angles)))
    assert abs(angles[i]) < 1.0
    assert np.abs(X[i, 0] - upright_digits[i, 0]).max() < 0.1


def test_rotation_does_not_cut_the_digit(small_digits, upright_digits):
    # Rotation keeps the amount of ink (up to interpolation) only if no part
    # of the digit leaves the canvas.
    X, _, _ = small_digits
    ink = X.sum(axis=(1, 2, 3))
    upright_ink = upright_digits.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(ink, upright_ink, rtol=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n_classes": 1}, ValueError, "n_classes"),
        ({"n_classes": 2.0}, TypeError, "n_classes"),
        ({"n_classes": True}, TypeError, "n_classes"),
        ({"max_angle": 0}, ValueError, "max_angle"),
        ({"max_angle": -10.0}, ValueError, "max_angle"),
        ({"max_angle": 180.5}, ValueError, "max_angle"),
        ({"max_angle": float("nan")}, ValueError, "max_angle"),
        ({"max_angle": "90"}, TypeError, "max_angle"),
        ({"n_rotations": 0}, ValueError, "n_rotations"),
        ({"n_rotations": 1.5}, TypeError, "n_rotations"),
        ({"image_size": 7}, ValueError, "image_size"),
        ({"image_size": 28.0}, TypeError, "image_size"),
        ({"random_state": -1}, ValueError, "random_state"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_rotated_digits_parameter_errors(monkeypatch, kwargs, error, name):
    # The error must come from validation, before the digits are even loaded.
    def fail():
        raise AssertionError("validation must happen before loading digits")

    monkeypatch.setattr(rotated_digits_module, "load_digits", fail)
    with pytest.raises(error, match=name):
        load_rotated_digits(**kwargs)


def test_rotated_digits_accepts_boundary_values():
    X, y = load_rotated_digits(
        n_classes=2, max_angle=180, n_rotations=1, image_size=8, random_state=None
    )
    assert X.shape == (N_DIGITS, 1, 8, 8)
    assert set(np.unique(y).tolist()) == {0, 1}


# --------------------------------------------------------------------------
# load_utkface
# --------------------------------------------------------------------------

# name -> (age, gender, race, RGB colour of the solid test image)
GOOD = {
    "25_0_1_20170116174525125.jpg.chip.jpg": (25, 0, 1, (200, 30, 30)),
    "3_1_4_20170104.jpg": (3, 1, 4, (30, 200, 30)),
    "61_1_3_20170109150557335.jpg.chip.jpg": (61, 1, 3, (30, 30, 200)),
    "40_0_0_20170117.JPG": (40, 0, 0, (220, 220, 40)),
    "70_1_2_2017.png": (70, 1, 2, (40, 220, 220)),
    # A real UTKFace defect: the race field is missing.
    "39_1_20170116174525125.jpg.chip.jpg": (39, 1, -1, (120, 60, 180)),
}
NO_AGE = ["abc_0_1_2017.jpg", "_0_1_2017.jpg"]
NOT_IMAGE = ["notes.txt"]
CORRUPT = ["12_0_1_2017.jpg", "33_1_0_2017.jpg.chip.jpg"]
N_FILES = len(GOOD) + len(NO_AGE) + len(NOT_IMAGE) + len(CORRUPT)


def _write_image(path, colour, size=12):
    fmt = "PNG" if path.name.lower().endswith(".png") else "JPEG"
    Image.new("RGB", (size, size), colour).save(path, format=fmt)


def _jpeg_bytes(size=40):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def utk_folder(tmp_path):
    folder = tmp_path / "UTKFace"
    folder.mkdir()
    for name, (*_, colour) in GOOD.items():
        _write_image(folder / name, colour)
    for name in NO_AGE:
        _write_image(folder / name, (128, 128, 128))
    (folder / "notes.txt").write_text("downloaded from the UTKFace site\n")
    # One file of random bytes, one truncated JPEG.
    (folder / CORRUPT[0]).write_bytes(np.random.default_rng(1).bytes(500))
    jpeg = _jpeg_bytes()
    (folder / CORRUPT[1]).write_bytes(jpeg[: len(jpeg) // 2])
    # Not recursive: images in a subfolder are ignored.
    (folder / "sub").mkdir()
    _write_image(folder / "sub" / "50_0_0_2017.jpg", (0, 0, 0))
    return folder


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def count_decodes(monkeypatch):
    """Count the calls to images_module._decode_image (successful or not)."""
    calls = []
    original = images_module._decode_image

    def counting(path, image_size):
        calls.append(os.path.basename(path))
        return original(path, image_size)

    monkeypatch.setattr(images_module, "_decode_image", counting)
    return calls


@pytest.fixture
def forbid_decodes_later(monkeypatch):
    """Call it to make any further decoding fail."""

    def forbid():
        def fail(path, image_size):
            raise AssertionError(f"{path} was decoded")

        monkeypatch.setattr(images_module, "_decode_image", fail)

    return forbid


@pytest.fixture
def forbid_decodes(forbid_decodes_later):
    forbid_decodes_later()


def _load(folder, **kwargs):
    """Call load_utkface and return (result, the UserWarnings it issued)."""
    kwargs.setdefault("return_meta", True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = load_utkface(folder, **kwargs)
    return result, [w for w in caught if issubclass(w.category, UserWarning)]


def test_ages_match_file_names(utk_folder, cache):
    (X, y, meta), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    assert sorted(meta["file"]) == sorted(GOOD)
    assert [GOOD[name][0] for name in meta["file"]] == y.tolist()


def test_shapes_dtypes_range_and_meta_lengths(utk_folder, cache):
    (X, y, meta), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    n = len(GOOD)
    assert X.shape == (n, 3, 16, 16) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert set(meta) >= {"file", "gender", "race"}
    assert all(len(values) == n for values in meta.values())


def test_images_belong_to_their_labels(utk_folder, cache):
    # Each test image is one solid colour, so the decoded pixels show which
    # file a row of X came from.
    (X, _, meta), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    for image, name in zip(X, meta["file"], strict=True):
        expected = np.array(GOOD[name][3]) / 255
        np.testing.assert_allclose(image.mean(axis=(1, 2)), expected, atol=0.03)


def test_sorted_by_file_name(utk_folder, cache):
    (_, _, meta), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    assert meta["file"] == sorted(GOOD)


def test_gender_and_race_parsing(utk_folder, cache):
    (_, _, meta), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    for name, gender, race in zip(
        meta["file"], meta["gender"], meta["race"], strict=True
    ):
        assert (gender, race) == GOOD[name][1:3], name
    assert meta["gender"].dtype == meta["race"].dtype == np.int64


def test_one_warning_summarises_skipped_files(utk_folder, cache):
    _, caught = _load(utk_folder, image_size=16, cache_dir=cache)
    assert len(caught) == 1
    message = str(caught[0].message)
    n_skipped = len(NO_AGE) + len(NOT_IMAGE) + len(CORRUPT)
    assert f"skipped {n_skipped} of {N_FILES} files" in message
    assert re.search(r"\b1 not an image file", message)
    assert re.search(r"\b2 no age in the file name", message)
    assert re.search(r"\b2 unreadable or corrupt image", message)
    for name in NO_AGE + NOT_IMAGE + CORRUPT:
        assert repr(name) in message
    # Good images and the subfolder are not reported.
    assert "sub" not in message.replace(str(utk_folder), "")
    assert all(repr(name) not in message for name in GOOD)


def test_no_warning_when_nothing_is_skipped(tmp_path, cache):
    folder = tmp_path / "clean"
    folder.mkdir()
    _write_image(folder / "30_0_1_2017.jpg", (10, 20, 30))
    (X, y, _), caught = _load(folder, image_size=8, cache_dir=cache)
    assert caught == []
    assert y.tolist() == [30]


def test_age_range_filters_without_warning_about_filtered(utk_folder, cache):
    (X, y, meta), caught = _load(
        utk_folder, image_size=16, age_range=(25, 40), cache_dir=cache
    )
    expected = sorted(name for name, info in GOOD.items() if 25 <= info[0] <= 40)
    assert meta["file"] == expected
    assert sorted(y.tolist()) == [25, 39, 40]
    assert len(X) == 3
    message = str(caught[0].message)
    # The corrupt files (ages 12 and 33) straddle the range: only the one in
    # range is decoded, so only it is reported; out-of-range files are not.
    assert repr(CORRUPT[1]) in message and repr(CORRUPT[0]) not in message
    assert all(repr(name) not in message for name in GOOD)


def test_age_range_bounds_are_inclusive(utk_folder, cache):
    (_, y, _), _ = _load(utk_folder, image_size=8, age_range=(3, 3), cache_dir=cache)
    assert y.tolist() == [3]


def test_return_meta_false_returns_pair(utk_folder, cache):
    result, _ = _load(utk_folder, image_size=8, cache_dir=cache, return_meta=False)
    assert len(result) == 2


def test_second_call_loads_from_cache(utk_folder, cache, monkeypatch):
    (X1, y1, meta1), caught1 = _load(utk_folder, image_size=16, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 1

    def fail(path, image_size):
        raise AssertionError(f"{path} was decoded despite the cache")

    monkeypatch.setattr(images_module, "_decode_image", fail)
    (X2, y2, meta2), caught2 = _load(utk_folder, image_size=16, cache_dir=cache)
    np.testing.assert_array_equal(X1, X2)
    assert X2.dtype == np.float32
    np.testing.assert_array_equal(y1, y2)
    assert meta1["file"] == meta2["file"]
    np.testing.assert_array_equal(meta1["gender"], meta2["gender"])
    np.testing.assert_array_equal(meta1["race"], meta2["race"])
    # The skip summary is re-issued from the cache.
    assert [str(w.message) for w in caught2] == [str(w.message) for w in caught1]


def test_cache_leaves_no_temporary_files(utk_folder, cache):
    _load(utk_folder, image_size=16, cache_dir=cache)
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".npy"]


def test_uint8_are_the_float32_images_times_255(utk_folder, cache):
    (X, y, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    (X8, y8, _), _ = _load(utk_folder, image_size=16, cache_dir=cache, dtype="uint8")
    assert X8.dtype == np.uint8 and not isinstance(X8, np.memmap)
    np.testing.assert_array_equal(X8.astype(np.float32) / 255, X)
    np.testing.assert_array_equal(y8, y)


def test_mmap_maps_the_cache_read_only(utk_folder, cache, forbid_decodes_later):
    first, _ = _load(utk_folder, image_size=16, cache_dir=cache, dtype="uint8")
    forbid_decodes_later()
    for _ in range(2):
        (X, y, _), _ = _load(
            utk_folder, image_size=16, cache_dir=cache, dtype="uint8", mmap=True
        )
        assert isinstance(X, np.memmap) and X.mode == "r" and not X.flags.writeable
        assert os.path.dirname(X.filename) == str(cache)
        np.testing.assert_array_equal(X, first[0])


def test_mmap_right_after_decoding_is_a_map(utk_folder, cache):
    (X, _, _), _ = _load(
        utk_folder, image_size=8, cache_dir=cache, dtype="uint8", mmap=True
    )
    assert isinstance(X, np.memmap) and X.mode == "r"


def test_mmap_falls_back_to_memory_when_the_cache_cannot_be_written(
    utk_folder, tmp_path
):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    (X, _, _), caught = _load(
        utk_folder, image_size=8, cache_dir=blocked, dtype="uint8", mmap=True
    )
    assert X.dtype == np.uint8 and not isinstance(X, np.memmap)
    messages = [str(w.message) for w in caught]
    assert any("mmap=True returns the images in memory" in m for m in messages)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"dtype": "float64"}, ValueError, 'dtype must be "float32" or "uint8"'),
        ({"dtype": "pixels"}, ValueError, "dtype must be"),
        ({"mmap": 1}, TypeError, "mmap must be True or False"),
        ({"mmap": True}, ValueError, 'pass dtype="uint8"'),
        ({"mmap": True, "dtype": "uint8", "cache_dir": False}, ValueError, "cache"),
    ],
)
def test_bad_dtype_or_mmap_raises_before_decoding(
    utk_folder, forbid_decodes, kwargs, error, match
):
    with pytest.raises(error, match=match):
        load_utkface(utk_folder, image_size=8, **kwargs)


def test_added_image_invalidates_cache(utk_folder, cache, count_decodes):
    (_, y1, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    n_candidates = len(GOOD) + len(CORRUPT)
    assert len(count_decodes) == n_candidates
    _write_image(utk_folder / "80_0_1_2017.jpg", (90, 90, 90))
    (_, y2, meta2), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    assert len(count_decodes) == 2 * n_candidates + 1
    assert len(y2) == len(y1) + 1
    assert 80 in y2.tolist()


def test_removed_image_invalidates_cache(utk_folder, cache):
    _load(utk_folder, image_size=16, cache_dir=cache)
    (utk_folder / "70_1_2_2017.png").unlink()
    (_, y, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    assert 70 not in y.tolist()
    assert len(y) == len(GOOD) - 1


def test_modified_image_invalidates_cache(utk_folder, cache):
    name = "3_1_4_20170104.jpg"
    (X1, _, meta1), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    stat = (utk_folder / name).stat()
    _write_image(utk_folder / name, (0, 0, 0))
    # Make sure the modification time differs even on a coarse clock.
    os.utime(utk_folder / name, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (X2, _, meta2), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    i = meta2["file"].index(name)
    assert X1[meta1["file"].index(name)].mean() > 0.2
    assert X2[i].max() < 0.05


def test_other_image_size_is_cached_separately(utk_folder, cache, count_decodes):
    (X16, _, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    (X8, _, _), _ = _load(utk_folder, image_size=8, cache_dir=cache)
    assert X16.shape[-1] == 16 and X8.shape[-1] == 8
    assert len(count_decodes) == 2 * (len(GOOD) + len(CORRUPT))
    assert len(list(cache.glob("*.json"))) == 2


def test_damaged_cache_file_is_decoded_again(utk_folder, cache):
    (X1, y1, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    (cache_file,) = cache.glob("*.json")
    cache_file.write_bytes(b"not a zip file")
    (X2, y2, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_cache_dir_false_writes_nothing(utk_folder, tmp_path, monkeypatch):
    # Point every default cache location into tmp_path, to see any write.
    monkeypatch.setenv("SK_KLPENALTY_CACHE", str(tmp_path / "env_cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    before = sorted(p for p in tmp_path.rglob("*"))
    _load(utk_folder, image_size=8, cache_dir=False)
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_cache_dir_false_decodes_every_time(utk_folder, count_decodes):
    _load(utk_folder, image_size=8, cache_dir=False)
    _load(utk_folder, image_size=8, cache_dir=False)
    assert len(count_decodes) == 2 * (len(GOOD) + len(CORRUPT))


def test_default_cache_dir_honours_environment(utk_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("SK_KLPENALTY_CACHE", str(tmp_path / "env_cache"))
    _load(utk_folder, image_size=8)
    assert len(list((tmp_path / "env_cache").glob("*.json"))) == 1

    monkeypatch.delenv("SK_KLPENALTY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _load(utk_folder, image_size=8)
    assert len(list((tmp_path / "xdg" / "sk_klpenalty").glob("*.json"))) == 1


def test_missing_folder_raises(tmp_path):
    missing = tmp_path / "no_such_folder"
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        load_utkface(missing, cache_dir=False)


def test_file_instead_of_folder_raises(utk_folder):
    with pytest.raises(NotADirectoryError, match="notes.txt"):
        load_utkface(utk_folder / "notes.txt", cache_dir=False)


def test_folder_without_usable_image_raises(tmp_path, cache):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here")
    _write_image(folder / "abc_0_1_2017.jpg", (1, 2, 3))
    with pytest.raises(ValueError, match="no usable image") as info:
        load_utkface(folder, cache_dir=cache)
    message = str(info.value)
    assert "junk" in message
    assert "'notes.txt'" in message and "'abc_0_1_2017.jpg'" in message
    # Nothing is cached for a failed load.
    assert not list(cache.glob("*.json"))


def test_empty_folder_raises(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(ValueError, match="no usable image"):
        load_utkface(folder, cache_dir=False)


def test_age_range_excluding_everything_raises(utk_folder):
    with pytest.raises(ValueError, match="no usable image.*age_range"):
        load_utkface(utk_folder, age_range=(100, 110), cache_dir=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"image_size": 7}, ValueError, "image_size"),
        ({"image_size": 64.0}, TypeError, "image_size"),
        ({"age_range": (60, 21)}, ValueError, "age_range"),
        ({"age_range": (21,)}, TypeError, "age_range"),
        ({"age_range": (21, 40, 60)}, TypeError, "age_range"),
        ({"age_range": (21.5, 60)}, TypeError, "age_range"),
        ({"age_range": 30}, TypeError, "age_range"),
        ({"cache_dir": True}, TypeError, "cache_dir"),
    ],
)
def test_utkface_parameter_errors(utk_folder, forbid_decodes, kwargs, error, name):
    # forbid_decodes: the error must come before any image is decoded.
    with pytest.raises(error, match=name):
        load_utkface(utk_folder, **kwargs)


def test_path_type_error():
    with pytest.raises(TypeError, match="path"):
        load_utkface(42)


def test_name_parsing_table():
    parse = images_module._parse_utkface_name
    assert parse("25_0_1_20170116174525125.jpg.chip.jpg") == (25, 0, 1)
    assert parse("116_1_4_2017.jpg") == (116, 1, 4)
    # A missing field: the date is not taken for a race.
    assert parse("39_1_20170116174525125.jpg.chip.jpg") == (39, 1, -1)
    assert parse("7_9_8_2017.jpg") == (7, -1, -1)
    assert parse("0.jpg") == (0, -1, -1)
    for name in ["abc_0_1_2017.jpg", "_0_1_2017.jpg", "-5_0_1.jpg", "2.5_0_1.jpg"]:
        assert parse(name) is None, name
    # A timestamp in the age slot is not an age.
    assert parse("20170116174525125.jpg") is None
    assert parse("150_0_0_1.jpg") == (150, 0, 0)
    assert parse("151_0_0_1.jpg") is None


# --------------------------------------------------------------------------
# load_npz
# --------------------------------------------------------------------------


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    X = rng.random((12, 3, 4, 4), dtype=np.float32)
    return X, np.arange(12) % 3, np.arange(12) // 2


@pytest.mark.parametrize("order", ["C", "F"])
def test_npz_uncompressed_x_is_a_read_only_map(tmp_path, arrays, order):
    X, y, groups = arrays
    X = np.asarray(X, order=order)
    # y first, so that X is not the archive's first member.
    np.savez(tmp_path / "d.npz", y=y, X=X, groups=groups)
    X2, y2, groups2 = load_npz(tmp_path / "d.npz")
    assert isinstance(X2, np.memmap) and X2.mode == "r" and not X2.flags.writeable
    assert X2.filename == str(tmp_path / "d.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(groups2, groups)


def test_npz_mmap_false_and_compressed_read_into_memory(tmp_path, arrays):
    X, y, _ = arrays
    np.savez(tmp_path / "plain.npz", X=X, y=y)
    np.savez_compressed(tmp_path / "small.npz", X=X, y=y)
    for path, kwargs in [("plain.npz", {"mmap": False}), ("small.npz", {})]:
        X2, y2, groups = load_npz(tmp_path / path, **kwargs)
        assert type(X2) is np.ndarray and groups is None
        np.testing.assert_array_equal(X2, X)
        np.testing.assert_array_equal(y2, y)


@pytest.mark.parametrize(
    ("arrays_saved", "match"),
    [
        ({"y": [0, 1]}, "holds no array 'X'"),
        ({"X": np.zeros((2, 3))}, "holds no array 'y'"),
        ({"X": np.zeros((5, 3)), "y": [0, 1, 1, 0]}, r"X has shape \(5, 3\) but y"),
        ({"X": np.zeros((2, 3)), "y": [0, 1], "groups": [1]}, "groups has shape"),
        ({"X": np.zeros((2, 3)), "y": [1, 1]}, "fewer than 2 classes"),
    ],
)
def test_npz_bad_layouts(tmp_path, arrays_saved, match):
    np.savez(tmp_path / "bad.npz", **arrays_saved)
    with pytest.raises(ValueError, match=match):
        load_npz(tmp_path / "bad.npz")


def test_npz_not_an_archive_and_bad_mmap(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        load_npz(tmp_path / "X.npy")
    with pytest.raises(TypeError, match="mmap"):
        load_npz(tmp_path / "X.npy", mmap="yes")


# --------------------------------------------------------------------------
# load_image_folder
# --------------------------------------------------------------------------


def _class_folder(root, layout):
    """Class folders of solid images: {class name: [RGB colour per image]}."""
    for name, colours in layout.items():
        (root / name).mkdir(parents=True)
        for i, colour in enumerate(colours):
            _write_image(root / name / f"img{i}.png", colour)
    return root


NUMERIC = {"2": [(0, 200, 0)] * 2, "10": [(0, 0, 200)], "1": [(200, 0, 0)] * 3}


def _load_folder(folder, **kwargs):
    """Call load_image_folder; return (X, y) and the UserWarnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = load_image_folder(folder, 8, **kwargs)
    return result, [w for w in caught if issubclass(w.category, UserWarning)]


def test_numeric_class_names_are_ordered_as_numbers(tmp_path):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    (X, y), caught = _load_folder(folder, cache_dir=False)
    assert caught == [] and y.dtype == np.int64
    assert y.tolist() == [1, 1, 1, 2, 2, 10]
    assert X.shape == (6, 3, 8, 8) and X.dtype == np.uint8
    # Each image is its class's colour: images and labels are aligned.
    np.testing.assert_array_equal(X[:, :, 0, 0].argmax(axis=1), [0, 0, 0, 1, 1, 2])


def test_non_integral_numbers_give_float_labels(tmp_path):
    folder = _class_folder(tmp_path / "g", {"1.5": [(9, 9, 9)], "0.5": [(9, 9, 9)]})
    (_, y), _ = _load_folder(folder, cache_dir=False, dtype="float32")
    assert y.dtype == np.float64 and y.tolist() == [0.5, 1.5]


def test_classes_give_the_order_of_named_folders(tmp_path):
    layout = {"high": [(0, 0, 200)], "low": [(200, 0, 0)] * 2, "mid": [(0, 200, 0)]}
    folder = _class_folder(tmp_path / "named", layout)
    (X, y), _ = _load_folder(folder, classes=["low", "mid", "high"], cache_dir=False)
    assert y.tolist() == ["low", "low", "mid", "high"]
    np.testing.assert_array_equal(X[:, :, 0, 0].argmax(axis=1), [0, 0, 1, 2])


def test_float32_images_are_the_uint8_ones_over_255(tmp_path):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    (X8, _), _ = _load_folder(folder, cache_dir=False)
    (X, _), _ = _load_folder(folder, cache_dir=False, dtype="float32")
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, X8.astype(np.float32) / 255)


@pytest.mark.parametrize(
    ("layout", "kwargs", "error", "match"),
    [
        (
            {"low": [(1, 1, 1)], "high": [(1, 1, 1)]},
            {},
            ValueError,
            r"classes=\[\.\.\.\]",
        ),
        (NUMERIC, {"classes": ["1", "2", "3"]}, ValueError, r"no folder \['3'\]"),
        (NUMERIC, {"classes": ["1", "2"]}, ValueError, r"not named \['10'\]"),
        (NUMERIC, {"classes": ["1", "2", "10", "1"]}, ValueError, "classes must name"),
        (NUMERIC, {"classes": "1 2 10"}, TypeError, "classes must be a list"),
        ({"1": [(1, 1, 1)]}, {}, ValueError, "2 or more class folders"),
        ({"1": [(1, 1, 1)], "2": []}, {}, ValueError, r"\['2'\] hold no readable"),
        (NUMERIC, {"image_size": 4}, ValueError, "image_size"),
        (NUMERIC, {"dtype": "int8"}, ValueError, "dtype"),
        (NUMERIC, {"cache_dir": 1}, TypeError, "cache_dir"),
    ],
)
def test_folder_bad_layouts(tmp_path, forbid_decodes, layout, kwargs, error, match):
    folder = _class_folder(tmp_path / "bad", layout)
    with pytest.raises(error, match=match):
        load_image_folder(folder, **{"image_size": 8, "cache_dir": False, **kwargs})


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(TypeError, match="path"):
        load_image_folder(None)


def test_folder_skips_unreadable_and_non_image_files_with_one_warning(tmp_path):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    (folder / "1" / "notes.txt").write_text("not an image")
    (folder / "2" / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "10" / "deeper").mkdir()
    _write_image(folder / "10" / "deeper" / "x.png", (0, 0, 200))
    (X, y), caught = _load_folder(folder, cache_dir=False)
    assert y.tolist() == [1, 1, 1, 2, 2, 10, 10]  # subfolders count too
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "load_image_folder skipped 2 of 9 files" in message
    assert re.search(r"\b1 not an image file", message) and "'1/notes.txt'" in message
    assert re.search(r"\b1 unreadable", message) and "'2/broken.jpg'" in message


def test_folder_class_of_unreadable_images_raises(tmp_path):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    for path in (folder / "10").iterdir():
        path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"\['10'\] hold no readable image"):
        _load_folder(folder, cache_dir=False)


def test_folder_second_call_decodes_nothing(tmp_path, cache, forbid_decodes_later):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    (folder / "2" / "broken.jpg").write_bytes(b"not a jpeg")
    (X1, y1), caught1 = _load_folder(folder, cache_dir=cache)
    forbid_decodes_later()
    (X2, y2), caught2 = _load_folder(folder, cache_dir=cache)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert [str(w.message) for w in caught2] == [str(w.message) for w in caught1]
    (X3, _), _ = _load_folder(folder, cache_dir=cache, mmap=True)
    assert isinstance(X3, np.memmap) and X3.mode == "r" and not X3.flags.writeable
    np.testing.assert_array_equal(X3, X1)


def test_folder_changed_file_is_decoded_again(tmp_path, cache, count_decodes):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    _load_folder(folder, cache_dir=cache)
    _write_image(folder / "10" / "new.png", (0, 0, 200))
    (_, y), _ = _load_folder(folder, cache_dir=cache)
    assert y.tolist().count(10) == 2
    assert len(count_decodes) == 6 + 7


def test_folder_ignores_hidden_folders(tmp_path):
    folder = _class_folder(tmp_path / "grades", NUMERIC)
    _class_folder(folder / ".ipynb_checkpoints", {"5": [(1, 1, 1)]})
    (_, y), caught = _load_folder(folder, cache_dir=False)
    assert sorted(set(y.tolist())) == [1, 2, 10] and caught == []


def test_npz_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")


def test_damaged_cached_images_are_decoded_again(utk_folder, cache):
    (X1, y1, _), _ = _load(utk_folder, image_size=16, cache_dir=cache)
    (images_file,) = cache.glob("*.npy")
    images_file.write_bytes(images_file.read_bytes()[:200])  # truncated
    for mmap in (False, True):
        (X2, y2, _), _ = _load(
            utk_folder, image_size=16, cache_dir=cache, dtype="uint8", mmap=mmap
        )
        np.testing.assert_array_equal(X2.astype(np.float32) / 255, X1)
        np.testing.assert_array_equal(y1, y2)
