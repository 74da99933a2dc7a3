"""The classic hand-designed 3x3 kernels, as NumPy arrays.

Each kernel is written the way image-processing texts print it and is meant to be used with
cross-correlation (``F.conv2d``), the operation deep-learning frameworks call convolution.
``KERNELS`` maps a name to its array, in the order of the 3x3 gallery of the course.
"""

import numpy as np

SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
VERTICAL_EDGE = np.array([[0, 0, 0], [-1, 2, -1], [0, 0, 0]], dtype=np.float64)
SURROUND = np.array([[1, 1, 1], [1, -9, 1], [1, 1, 1]], dtype=np.float64)
SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64)
IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64)
HORIZONTAL_EDGE = np.array([[0, -1, 0], [0, 2, 0], [0, -1, 0]], dtype=np.float64)
BLUR = np.full((3, 3), 1.0 / 9.0)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
EMBOSS = np.array([[2, 0, 0], [0, -1, 0], [0, 0, -1]], dtype=np.float64)

KERNELS = {
    "sharpen": SHARPEN,
    "vertical edge": VERTICAL_EDGE,
    "surround": SURROUND,
    "sobel y": SOBEL_Y,
    "identity": IDENTITY,
    "horizontal edge": HORIZONTAL_EDGE,
    "blur": BLUR,
    "sobel x": SOBEL_X,
    "emboss": EMBOSS,
}

DESCRIPTIONS = {
    "sharpen": "boosts a pixel against its four neighbours: edges and fine texture get crisper",
    "vertical edge": "second difference along x: responds to vertical lines and edges",
    "surround": "neighbours minus nine times the centre: flat regions go dark, outlines light up",
    "sobel y": "smoothed first difference along y: responds to horizontal edges, signed",
    "identity": "a single 1 in the centre: returns the image unchanged",
    "horizontal edge": "second difference along y: responds to horizontal lines and edges",
    "blur": "the mean of the 3x3 neighbourhood: removes fine detail and noise",
    "sobel x": "smoothed first difference along x: responds to vertical edges, signed",
    "emboss": "diagonal difference: lit-from-the-corner relief effect",
}


def get_kernel(name, size=3):
    """Return a copy of the named kernel, zero-embedded in the centre of a ``size x size`` grid.

    Parameters
    ----------
    name : str
        A key of ``KERNELS`` (case-insensitive, ``_`` and ``-`` accepted for spaces).
    size : int
        Odd grid size >= 3.

    Returns
    -------
    kernel : (size, size) float64 array
    """
    key = str(name).lower().replace("_", " ").replace("-", " ")
    if key not in KERNELS:
        raise ValueError(f"get_kernel: unknown kernel {name!r}; choose one of {list(KERNELS)}")
    if not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise ValueError(f"get_kernel: size must be an odd integer >= 3, got {size!r}")
    out = np.zeros((size, size))
    m = (size - 3) // 2
    out[m : m + 3, m : m + 3] = KERNELS[key]
    return out
