import numpy as np
import pytest

from cnnlib.kernels import DESCRIPTIONS, KERNELS, get_kernel


def test_nine_named_3x3_kernels_with_descriptions():
    assert len(KERNELS) == 9
    assert set(KERNELS) == set(DESCRIPTIONS)
    for k in KERNELS.values():
        assert k.shape == (3, 3)


def test_kernel_sums_say_what_they_do_to_flat_regions():
    # a flat image keeps its value under sharpen/identity/blur, vanishes under edge detectors
    for name in ("sharpen", "identity", "blur"):
        assert KERNELS[name].sum() == pytest.approx(1.0)
    for name in ("vertical edge", "horizontal edge", "sobel x", "sobel y"):
        assert KERNELS[name].sum() == 0
    assert KERNELS["surround"].sum() == -1


def test_sobel_pair_is_a_transpose_and_edges_are_rotations():
    np.testing.assert_array_equal(KERNELS["sobel x"].T, KERNELS["sobel y"])
    np.testing.assert_array_equal(KERNELS["vertical edge"].T, KERNELS["horizontal edge"])


def test_get_kernel_embeds_in_larger_odd_grid_and_copies():
    k5 = get_kernel("Sobel_X", 5)
    assert k5.shape == (5, 5)
    np.testing.assert_array_equal(k5[1:4, 1:4], KERNELS["sobel x"])
    assert np.abs(k5).sum() == np.abs(KERNELS["sobel x"]).sum()
    k5[2, 2] = 99
    assert KERNELS["sobel x"][1, 1] == 0


@pytest.mark.parametrize("size", [2, 4, 1, 3.0])
def test_get_kernel_rejects_even_or_bad_size(size):
    with pytest.raises(ValueError, match="odd"):
        get_kernel("blur", size)


def test_get_kernel_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown kernel"):
        get_kernel("laplacian of gaussian")
