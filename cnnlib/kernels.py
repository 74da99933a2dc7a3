"""The classic hand-designed 3x3 kernels, as NumPy arrays.

Each kernel is written the way image-processing texts print it and is meant to be used with
cross-correlation (``F.conv2d``), the operation deep-learning frameworks call convolution.
``KERNELS`` maps a name to its array, in the order of the 3x3 gallery of the course.
"""

import numpy as np

__all__ = [
    "SHARPEN",
    "VERTICAL_EDGE",
    "SURROUND",
    "SOBEL_Y",
    "IDENTITY",
    "HORIZONTAL_EDGE",
    "BLUR",
    "SOBEL_X",
    "EMBOSS",
    "KERNELS",
    "DESCRIPTIONS",
    "get_kernel",
]

#: The centre against its four neighbours: edges get steeper.
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
#: A horizontal second difference: responds to vertical edges and lines.
VERTICAL_EDGE = np.array([[0, 0, 0], [-1, 2, -1], [0, 0, 0]], dtype=np.float64)
#: The eight neighbours minus nine times the centre: flat regions invert.
SURROUND = np.array([[1, 1, 1], [1, -9, 1], [1, 1, 1]], dtype=np.float64)
#: Sobel's vertical derivative (bottom minus top), smoothed across.
SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64)
#: Leaves the image unchanged.
IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64)
#: A vertical second difference: responds to horizontal edges and lines.
HORIZONTAL_EDGE = np.array([[0, -1, 0], [0, 2, 0], [0, -1, 0]], dtype=np.float64)
#: The mean of the 3x3 window.
BLUR = np.full((3, 3), 1.0 / 9.0)
#: Sobel's horizontal derivative (right minus left), smoothed down.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
#: A diagonal difference that makes the image look raised.
EMBOSS = np.array([[2, 0, 0], [0, -1, 0], [0, 0, -1]], dtype=np.float64)

#: The nine kernels by name, in the order of chapter 3's gallery.
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

#: A one-line description of what each kernel does to an image.
DESCRIPTIONS = {
    "sharpen": "boosts a pixel against its four neighbours: edges and fine texture get crisper",
    "vertical edge": "second difference along x: responds to vertical lines and edges",
    "surround": "neighbours minus 9x the centre: a flat region v becomes -v, outlines stand out",
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
