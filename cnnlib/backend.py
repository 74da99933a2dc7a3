"""Which array library are we computing with?

Every cnnlib function takes its array namespace from its inputs::

    xp = namespace(x, weight, bias)

so NumPy arrays in means NumPy out, torch tensors in means torch tensors out (on the
same device), and array-api-strict arrays work too. There is no global backend switch.
`namespace` also rejects what would otherwise fail deep inside a library: non-arrays and
NumPy arrays mixed with torch tensors in one call.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj, is_numpy_array, is_torch_array

__all__ = [
    "namespace",
    "check_array",
    "is_torch",
    "is_numpy",
    "to_numpy",
    "device_of",
    "library_name",
    "asarray_like",
]


def library_name(x) -> str:
    """'numpy', 'torch', or the array's module name (e.g. 'array_api_strict')."""
    if is_numpy_array(x):
        return "numpy"
    if is_torch_array(x):
        return "torch"
    return type(x).__module__.split(".")[0]


def check_array(x, name: str, fn: str):
    """Raise TypeError unless `x` is an array (NumPy, torch, or any Array API array)."""
    if not is_array_api_obj(x) or isinstance(x, np.generic):
        raise TypeError(
            f"{fn}: {name} must be an array (numpy.ndarray or torch.Tensor), got {type(x).__name__}"
        )
    return x


def namespace(*arrays, names=None, fn: str = "cnnlib"):
    """The array namespace shared by `arrays` (None entries are ignored).

    Raises TypeError naming the argument when one is not an array, or when arrays from
    different libraries (e.g. NumPy and torch) are mixed in one call.
    """
    names = names or [f"argument {i}" for i in range(len(arrays))]
    seen = {}
    for a, name in zip(arrays, names):
        if a is None:
            continue
        check_array(a, name, fn)
        seen.setdefault(library_name(a), name)
    if len(seen) > 1:
        detail = ", ".join(f"{n} is {lib}" for lib, n in seen.items())
        raise TypeError(
            f"{fn}: all arrays must come from one library, but {detail}; "
            "convert them first (e.g. torch.as_tensor(x) or x.numpy())"
        )
    present = [a for a in arrays if a is not None]
    if not present:
        raise TypeError(f"{fn}: expected at least one array")
    return array_namespace(*present)


def is_torch(x) -> bool:
    """Whether ``x`` is a torch tensor (on any device)."""
    return is_torch_array(x)


def is_numpy(x) -> bool:
    """Whether ``x`` is a NumPy array."""
    return is_numpy_array(x)


def device_of(x):
    """The device of an array ('cpu' for NumPy)."""
    if is_torch_array(x):
        return x.device
    return getattr(x, "device", "cpu")


def to_numpy(x) -> np.ndarray:
    """A NumPy copy (or view) of any supported array, moved to the host when needed."""
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_numpy_array(x):
        return x
    return np.asarray(x)


def asarray_like(values, like, dtype=None):
    """`values` as an array of the same library, device and (default) dtype as `like`."""
    xp = array_namespace(like)
    dtype = like.dtype if dtype is None else dtype
    if is_torch_array(like):
        return xp.asarray(values, dtype=dtype, device=like.device)
    return xp.asarray(values, dtype=dtype)
