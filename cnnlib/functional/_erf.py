"""The complementary error function erfc for every array library (the Array API has none).

GELU needs the normal distribution's CDF, ``Phi(x) = erfc(-x / sqrt(2)) / 2``. NumPy has no
erf, so cnnlib computes it from its exponent, following the form of Press et al.,
*Numerical Recipes* (3rd ed., section 6.2.2): for ``z >= 0`` and ``t = 2 / (2 + z)`` in (0, 1],

    erfc(z) = t * exp(-z^2 + P(t)),

where P is smooth on the whole half-line (as z -> infinity, erfc(z) ~ exp(-z^2) / (z sqrt(pi))
and P(t) tends to -log(sqrt(pi)) + ...). P is a Chebyshev series in y = 2t - 1, evaluated
with Clenshaw's recurrence; erfc(-z) = 2 - erfc(z) covers negative z. The 28 coefficients
below were computed for this module at 40 digits with mpmath (the Chebyshev coefficients of
P on 60 first-kind nodes; the dropped ones are below 3e-18), so erfc is good to about 1e-13
relative in float64, and float32 inputs stay float32::

    import mpmath

    mpmath.mp.dps, N = 40, 60

    def P(y):
        t = (y + 1) / 2
        z = 2 / t - 2
        return mpmath.log(mpmath.erfc(z) / t) + z * z

    y = [mpmath.cos(mpmath.pi * (j + 0.5) / N) for j in range(N)]
    c = [2 / N * sum(P(y[j]) * mpmath.cos(mpmath.pi * m * (j + 0.5) / N) for j in range(N))
         for m in range(28)]
    c[0] /= 2
"""

from __future__ import annotations

__all__ = ["erfc"]

_CHEB = (
    -0.6513268598908547, 0.6419697923564902, 0.019476473204185836, -0.009561514786808632,
    -0.0009465953444820369, 0.00036683949785276145, 4.252332480690777e-05,
    -2.0278578112534242e-05, -1.6242900046470256e-06, 1.3036558355805232e-06,
    1.5626441722066142e-08, -8.523809591492654e-08, 6.5290544390988515e-09,
    5.059343495551469e-09, -9.91364156493033e-10, -2.273651222931836e-10,
    9.646791102015527e-11, 2.3940380830391146e-12, -6.886027526497553e-12,
    8.944879273090725e-13, 3.130921399342958e-13, -1.1270822361367252e-13,
    3.810905255189232e-16, 7.106097613609237e-15, -1.5230282014571043e-15,
    -9.457494571291233e-17, 1.210237189224279e-16, -2.816663087747177e-17,
)  # fmt: skip


def erfc(z, xp):
    """1 - erf(z), elementwise, in z's dtype. ``z : (*) -> (*)``."""
    a = xp.abs(z)
    t = 2 / (2 + a)
    two_y = 4 * t - 2  # 2 y, with y = 2 t - 1 in (-1, 1]
    b1 = xp.zeros_like(a)  # Clenshaw: b_k = c_k + 2 y b_{k+1} - b_{k+2}
    b2 = xp.zeros_like(a)
    for c in _CHEB[:0:-1]:
        b1, b2 = two_y * b1 - b2 + c, b1
    p = two_y / 2 * b1 - b2 + _CHEB[0]  # P = c_0 + y b_1 - b_2
    tail = t * xp.exp(p - a * a)
    return xp.where(z >= 0, tail, 2 - tail)
