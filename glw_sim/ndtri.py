"""The standard normal quantile as a compiled function (``ndtri``), for passes that price jobs resident by resident
(:mod:`glw_sim.pay`), where numpy's ``scipy.special.ndtri`` would need an array and a pass of its own.

The algorithm and coefficients are Cephes' ``ndtri`` (Stephen L. Moshier, Cephes Math Library 2.8, 2000), as
SciPy ships it (``scipy/special/cephes/ndtri.c``, BSD-3-Clause): a rational approximation in ``y - 0.5`` for
``exp(-2) < y < 1 - exp(-2)``, and in ``1 / sqrt(-2 log y)`` in the tails. The same operations in the same order,
so the same numbers as ``scipy.special.ndtri`` (tests/test_pay.py checks them bit for bit).
"""

from __future__ import annotations

import numba as nb
import numpy as np

_S2PI = 2.50662827463100050242E0
_P0 = np.array([-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
                1.39312609387279679503E1, -1.23916583867381258016E0])
_Q0 = np.array([1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
                -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
                1.59056225126211695515E1, -1.18331621121330003142E0])
_P1 = np.array([4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
                4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
                -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4])
_Q1 = np.array([1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
                1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
                -3.80806407691578277194E-2, -9.33259480895457427372E-4])
_P2 = np.array([3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
                1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
                3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9])
_Q2 = np.array([6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
                2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
                2.89247864745380683936E-6, 6.79019408009981274425E-9])
_EXP_M2 = 0.13533528323661269189  # exp(-2)


@nb.njit(cache=True, inline="always")
def _polevl(x, c):
    """c[0] x^N + ... + c[N] (Horner, as Cephes' polevl)."""
    ans = c[0]
    for k in range(1, len(c)):
        ans = ans * x + c[k]
    return ans


@nb.njit(cache=True, inline="always")
def _p1evl(x, c):
    """x^N + c[0] x^(N-1) + ... + c[N-1] (a leading coefficient of 1, as Cephes' p1evl)."""
    ans = x + c[0]
    for k in range(1, len(c)):
        ans = ans * x + c[k]
    return ans


@nb.njit(cache=True)
def ndtri(y0):
    """The standard normal quantile of ``y0`` (-inf at 0, inf at 1, nan outside [0, 1])."""
    if not (0.0 <= y0 <= 1.0):
        return np.nan
    if y0 == 0.0:
        return -np.inf
    if y0 == 1.0:
        return np.inf
    code = True
    y = y0
    if y > 1.0 - _EXP_M2:
        y = 1.0 - y
        code = False
    if y > _EXP_M2:
        y = y - 0.5
        y2 = y * y
        x = y + y * (y2 * _polevl(y2, _P0) / _p1evl(y2, _Q0))
        return x * _S2PI
    x = np.sqrt(-2.0 * np.log(y))
    x0 = x - np.log(x) / x
    z = 1.0 / x
    if x < 8.0:
        x1 = z * _polevl(z, _P1) / _p1evl(z, _Q1)
    else:
        x1 = z * _polevl(z, _P2) / _p1evl(z, _Q2)
    x = x0 - x1
    return -x if code else x
