"""Numba hot loops of the rANS coder.

One push loop and one pop loop serve every distribution: `kind` selects how the
integer CDF of item i is computed (from a table, or from distribution
parameters inside the loop), so the state update exists once. The state is kept
in [2^31, 2^63) with 32-bit renormalisation words, and every constant is uint64:
Numba silently types uint64/int64 mixtures as int64.

Below the start of the message lies a fixed, endless sequence of words,
`virtual_word(0), virtual_word(1), ...` (a counter through the splitmix64
mixer), and an empty message starts in the fixed states `empty_states(lanes)`. Popping
past the bottom takes the next of those words and increases `debt`; pushing the
expected word onto an empty stack while in debt pays one back. Both are exact
inverses, so a message returns exactly to its initial state, and `debt` says how
many bits were borrowed. The words look random so that the first latents popped
from an empty message are fair samples of the posterior (zeros would always pick
the lowest bin), yet everything is deterministic.

Kernels whose loops divide are compiled with error_model="numpy": Python's zero-division check is a branch
that keeps a loop out of SIMD lanes (a vector instruction rounds each lane as the scalar one would, so the
numbers stay the same), and every divisor in them is positive.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numba as nb
import numpy as np

UNIFORM, TABLE, LOGISTIC, MIXTURE, GAUSSIAN = 0, 1, 2, 3, 4
# The same families computed with libm's exp and erfc, whose last bits depend on the CPU and the C library:
# only for files made before portable coding (format versions 1 and 2), which were coded that way.
LEGACY = 8
LEGACY_LOGISTIC, LEGACY_MIXTURE, LEGACY_GAUSSIAN = LEGACY + LOGISTIC, LEGACY + MIXTURE, LEGACY + GAUSSIAN
PIXEL_LEVELS = 256

STATE_LOWER = np.uint64(1 << 31)
WORD_BITS = np.uint64(32)
WORD_MASK = np.uint64(0xFFFFFFFF)
ONE = np.uint64(1)
MAX_PRECISION = 31
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
SQRT_HALF = math.sqrt(0.5)
# Acklam's rational approximation of the inverse normal CDF (relative error ~1e-9): guesses only.
_PROBIT_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_PROBIT_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01)
_PROBIT_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_PROBIT_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
_PROBIT_TAIL = 0.02425
_NO_VALUES = np.zeros((1, 1), dtype=np.float64)
_NO_TABLE = np.zeros((1, 1), dtype=np.uint32)


# --- Portable elementary functions ------------------------------------------------------------------
# Built from +, -, *, / and the exact operations floor, frexp and ldexp, in a fixed order. IEEE 754 rounds
# each of those identically on every CPU, and Numba without fastmath neither fuses a multiply and an add
# nor reorders a sum (tests/test_exact_math.py checks the machine code), so these give the same bits on
# any machine; libm's exp, log and erfc need not (glibc picks an FMA variant on CPUs that have one).
_LN2_HI = 6.93147180369123816490e-01   # ln 2 in two parts: k * _LN2_HI is exact for |k| < 2^21
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
LN2 = 0.6931471805599453               # ln 2 rounded to float64
_INV_SQRT_2PI = 0.3989422804014327
EXACT_EXP_LIMIT = 700.0               # exact_exp clamps its argument here: never inf, never subnormal
_EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))
_INV_LN2_32 = _INV_LN2 * 32.0           # scaled by powers of two: exact, and k * _LN2_32_HI stays exact
_LN2_32_HI, _LN2_32_LO = _LN2_HI / 32.0, _LN2_LO / 32.0


def _power_of_two_fraction(j: int) -> float:
    """2^(j/32) by Taylor's series in Python floats, each step one IEEE operation: the same on every machine
    (Python's own ** calls libm's pow)."""
    r, term, total = j * (_LN2_HI + _LN2_LO) / 32.0, 1.0, 1.0
    for n in range(1, 30):
        term = term * r / n
        total = total + term
    return total


_EXP_TABLE = np.array([_power_of_two_fraction(j) for j in range(32)])
_ATANH_TAYLOR = np.array([1.0 / (2 * n + 1) for n in range(12)])        # |s| <= 0.172: error < 1e-19
_POWER_OFFSET = 1020
_POWERS_OF_TWO = np.array([math.ldexp(1.0, k) for k in range(-_POWER_OFFSET, _POWER_OFFSET + 1)])  # 2^k, exact
# Numerical Recipes' Chebyshev fit of erfc (fractional error below 1.2e-7 everywhere): smooth and monotone
_ERFC_FIT = np.array([-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
                      1.48851587, -0.82215223, 0.17087277])


@nb.njit(cache=True)
def exact_exp(x):
    """e^x for x clamped to +-EXACT_EXP_LIMIT, the same bits on every machine (relative error below 1e-15, as tests/test_exact_math.py checks):
    e^x = 2^m 2^(j/32) e^r with k = 32 m + j the nearest integer to 32 x / ln 2 and |r| <= ln 2 / 64."""
    x = min(max(x, -EXACT_EXP_LIMIT), EXACT_EXP_LIMIT)
    k = math.floor(x * _INV_LN2_32 + 0.5)
    r = (x - k * _LN2_32_HI) - k * _LN2_32_LO
    c = _EXP_TAYLOR  # degree 6: |r|^7 / 7! < 2e-18; written out, so that loops over exact_exp can run in SIMD lanes
    p = (((((c[6] * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]) * r + c[0]
    n = int(k)
    return (p * _EXP_TABLE[n & 31]) * _POWERS_OF_TWO[(n >> 5) + _POWER_OFFSET]  # the last product is exact


@nb.njit(cache=True)
def exact_log(x):
    """The natural logarithm of a positive, finite x, the same bits on every machine."""
    m, e = math.frexp(x)
    if m < SQRT_HALF:
        m *= 2.0
        e -= 1
    f = m - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    p = _ATANH_TAYLOR[11]
    for n in range(10, -1, -1):
        p = p * s2 + _ATANH_TAYLOR[n]
    return e * _LN2_HI + (2.0 * s * p + e * _LN2_LO)


@nb.njit(cache=True, inline="always")
def exact_erfc(x):
    """The complementary error function, the same bits on every machine."""
    z = abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    p = _ERFC_FIT[9]
    for n in range(8, -1, -1):
        p = p * t + _ERFC_FIT[n]
    value = t * exact_exp(-z * z + p)
    return value if x >= 0.0 else 2.0 - value


@nb.njit(cache=True, nogil=True)
def exact_exp_kernel(values, out):
    """out[i] = exact_exp(values[i]) for flat arrays."""
    for i in range(values.shape[0]):
        out[i] = exact_exp(values[i])


@nb.njit(cache=True, nogil=True, error_model="numpy")
def exact_log2_kernel(values, out):
    """out[i] = log2(values[i]) for flat arrays of positive values, through exact_log."""
    for i in range(values.shape[0]):
        out[i] = exact_log(values[i]) / LN2


@nb.njit(cache=True, nogil=True, error_model="numpy")
def fixed_point_kernel(values, unit, limit, silu):
    """In place on a flat float64 array: each value (through SiLU, x / (1 + e^-x), when `silu`) rounded to
    a multiple of `unit`, a power of two, ties upwards, and clamped to +-limit (bbvae/models/fixed_point.py)."""
    scale = 1.0 / unit
    for i in range(values.shape[0]):
        v = values[i]
        if silu:
            v = v / (1.0 + exact_exp(-v))
        v = math.floor(v * scale + 0.5) * unit
        values[i] = min(max(v, -limit), limit)


@nb.njit(cache=True)
def exact_normal_quantiles(u, out):
    """out[i]: the standard normal's u[i]-quantile (0 < u[i] < 1), from _probit's guess and four Newton steps
    on 0.5 erfc(-x / sqrt 2) with the exact functions: the same bits on every machine."""
    for i in range(u.shape[0]):
        x = _probit(u[i])
        for _ in range(4):
            cdf = 0.5 * exact_erfc(-x * SQRT_HALF)
            density = exact_exp(-0.5 * x * x) * _INV_SQRT_2PI
            x -= (cdf - u[i]) / density
        out[i] = x


def parameters(a=_NO_VALUES, b=_NO_VALUES, c=_NO_VALUES, table=_NO_TABLE) -> tuple:
    """A codec's parameter arrays in kernel order; kinds that do not use one get a placeholder.

    All writable and C-ordered (a read-only array, such as the shared bin edges, is copied): Numba
    compiles a kernel once per combination of array types, and a read-only array is a type of its own.
    """
    return tuple(np.require(array, requirements=("C", "W")) for array in (a, b, c, table))


@nb.njit(cache=True)
def _splitmix64(value):
    z = value * _GOLDEN + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def virtual_word(index):
    """The index-th word below the bottom of every message."""
    return _splitmix64(np.uint64(index)) >> WORD_BITS


def empty_states(lanes: int) -> np.ndarray:
    """The states of an empty message: fixed, in [2^62, 2^63), different per lane so lanes draw differently."""
    return np.array([(1 << 62) | (int(_splitmix64(np.uint64((1 << 40) + lane))) >> 2) for lane in range(lanes)],
                    dtype=np.uint64)


@nb.njit(cache=True, inline="always")
def _quantised(f, k, alphabet, total):
    """Map a continuous CDF value f at boundary k onto integers so every symbol keeps >= 1 count."""
    return np.int64(f * (total - alphabet)) + k


@nb.njit(cache=True, inline="always")
def _exp(x, exact):
    return exact_exp(x) if exact else math.exp(x)


@nb.njit(cache=True, inline="always")
def _sigmoid(t, exact=False):
    return 1.0 / (1.0 + _exp(-t, exact))


@nb.njit(cache=True, inline="always")
def cdf_at(kind, i, k, total, alphabet, a, b, c, table):
    """Counts of item i below symbol boundary k (0 at k=0, `total` at k=alphabet).

    LOGISTIC: mean a[i,0], scale b[i,0] on the 0..255 scale, edge bins take the tails.
    MIXTURE: weights a[i,:], means b[i,:], scales c[i,:].
    GAUSSIAN: mean a[i,0], std b[i,0], bin edges c[0,:] (the outer two infinite; only the interior decides).
    The LEGACY_ kinds compute the same with libm (files made before portable coding).

    The continuous families compute their value at every k and pick 0 or `total` at the ends afterwards
    (the outer values are finite or clamped, never NaN): without branches, a loop over items with a fixed
    kind runs in SIMD lanes (bounds_kernel). The numbers are those of a scalar loop.
    """
    if kind == UNIFORM:
        return np.int64(k)
    if kind == TABLE:
        return np.int64(table[i, k])
    exact = kind < LEGACY
    family = kind - LEGACY if kind >= LEGACY else kind
    if family == LOGISTIC:
        return _logistic_counts(k, a[i, 0], b[i, 0], total, alphabet, exact)
    if family == GAUSSIAN:
        return _normal_counts(k, a[i, 0], b[i, 0], c[0, k], total, alphabet, exact)
    return _counts(min(_mixture_cdf(i, k - 0.5, a, b, c, exact), 1.0), k, alphabet, total)  # MIXTURE


@nb.njit(cache=True, inline="always")
def _mixture_cdf(i, x, a, b, c, exact):
    """Item i's mixture CDF at x: its weighted components added to 0.0 in order."""
    f = 0.0
    for m in range(a.shape[1]):
        f += a[i, m] * _sigmoid((x - b[i, m]) / c[i, m], exact)
    return f


@nb.njit(cache=True, inline="always")
def _logistic_counts(k, mean, scale, total, alphabet, exact):
    """cdf_at's LOGISTIC counts, for loops that code nothing else."""
    return _counts(_sigmoid((k - 0.5 - mean) / scale, exact), k, alphabet, total)


@nb.njit(cache=True, inline="always")
def _normal_counts(k, mean, std, edge, total, alphabet, exact):
    """The counts below boundary k of N(mean, std), whose bin edge is `edge` (cdf_at's GAUSSIAN case)."""
    t = (mean - edge) / std * SQRT_HALF
    return _counts(0.5 * (exact_erfc(t) if exact else math.erfc(t)), k, alphabet, total)


@nb.njit(cache=True, inline="always")
def _counts(f, k, alphabet, total):
    """cdf_at's counts at boundary k for a continuous CDF value f there."""
    counts = _quantised(f, k, alphabet, total)
    counts = np.int64(0) if k <= 0 else counts
    return np.int64(total) if k >= alphabet else counts


@nb.njit(cache=True)
def _probit(u):
    """Approximate inverse of the standard normal CDF, for 0 < u < 1 (the same bits on every machine)."""
    a, b, c, d = _PROBIT_A, _PROBIT_B, _PROBIT_C, _PROBIT_D
    if _PROBIT_TAIL <= u <= 1.0 - _PROBIT_TAIL:
        q = u - 0.5
        r = q * q
        num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    q = math.sqrt(-2.0 * exact_log(min(u, 1.0 - u)))
    tail = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    return tail if u < 0.5 else -tail


# Tables for the decoder's guesses (their accuracy only sets how often a guess is checked twice): logit and
# probit of u at GUESS_STEPS + 1 points of [0, 1] (the ends pulled in by a quarter step), and the normal CDF
# at as many points of [-NORMAL_REACH, NORMAL_REACH]; read by linear interpolation.
GUESS_STEPS = 4096
NORMAL_REACH = 8.0
_GUESS_U = np.clip(np.arange(GUESS_STEPS + 1) / GUESS_STEPS, 0.25 / GUESS_STEPS, 1 - 0.25 / GUESS_STEPS)
_LOGIT_TABLE = np.log(_GUESS_U / (1 - _GUESS_U))
_PROBIT_TABLE = np.array([NormalDist().inv_cdf(u) for u in _GUESS_U])
_NORMAL_CDF_TABLE = np.array([NormalDist().cdf(t) for t in np.linspace(-NORMAL_REACH, NORMAL_REACH, GUESS_STEPS + 1)])


@nb.njit(cache=True, inline="always")
def _interpolated(table, v):
    """table read at fractional index v, 0 <= v < GUESS_STEPS."""
    j = np.int64(v)
    return table[j] + (table[j + 1] - table[j]) * (v - j)


@nb.njit(cache=True, inline="always")
def _logistic_guess(cf, total, alphabet, mean, scale):
    """The logistic's symbol at cumulative count cf, about."""
    g = math.floor(mean + scale * _interpolated(_LOGIT_TABLE, cf * (GUESS_STEPS / total)) + 0.5)
    return np.int64(min(max(g, 0.0), alphabet - 1.0))


@nb.njit(cache=True, inline="always")
def _normal_guess(cf, total, alphabet, mean, std):
    """The posterior's u-quantile for u = cf / total, then its bin under the prior's CDF, about."""
    t = mean + std * _interpolated(_PROBIT_TABLE, cf * (GUESS_STEPS / total))
    t = min(max(t, -NORMAL_REACH), NORMAL_REACH * (1.0 - 1.0 / GUESS_STEPS))
    g = math.floor(_interpolated(_NORMAL_CDF_TABLE, (t + NORMAL_REACH) * (GUESS_STEPS / (2.0 * NORMAL_REACH))) * alphabet)
    return np.int64(min(max(g, 0.0), alphabet - 1.0))


@nb.njit(cache=True, inline="always")
def _mixture_guess(i, cf, total, alphabet, a, b, c):
    """The components' u-quantiles averaged with their weights: the mixture's own u-quantile when one component
    dominates, and near it when they overlap (benchmarks/pixel_head.py counts how often it is right)."""
    t = _interpolated(_LOGIT_TABLE, cf * (GUESS_STEPS / total))
    q = 0.0
    for m in range(a.shape[1]):
        q += a[i, m] * (b[i, m] + c[i, m] * t)
    g = math.floor(q + 0.5)
    return np.int64(min(max(g, 0.0), alphabet - 1.0))


@nb.njit(cache=True)
def _guess(kind, i, cf, total, alphabet, a, b, c):
    """A cheap estimate of the symbol under cumulative count cf; -1 when there is none (tables from numpy and
    the statistics module are fine here: find_symbol's exact integer CDF decides)."""
    if kind >= LEGACY:
        kind -= LEGACY
    if kind == UNIFORM:
        return cf
    if kind == LOGISTIC:
        return _logistic_guess(cf, total, alphabet, a[i, 0], b[i, 0])
    if kind == MIXTURE:
        return _mixture_guess(i, cf, total, alphabet, a, b, c)
    if kind == GAUSSIAN:
        return _normal_guess(cf, total, alphabet, a[i, 0], b[i, 0])
    return np.int64(-1)


@nb.njit(cache=True, inline="always")
def _probe(kind, i, k, total, alphabet, a, b, c, table):
    """cdf_at for the decoder's search, which runs one item at a time: the ends are known without computing."""
    if k <= 0:
        return np.int64(0)
    if k >= alphabet:
        return np.int64(total)
    return cdf_at(kind, i, k, total, alphabet, a, b, c, table)


@nb.njit(cache=True)
def find_symbol(kind, i, cf, total, alphabet, a, b, c, table):
    """The symbol s with cdf(s) <= cf < cdf(s+1), and its (start, frequency).

    Checks the guess g with cdf(g) and cdf(g+1) together (two independent evaluations the CPU overlaps;
    the guess is right for nearly every symbol), else searches from it (search_from). The exact integer
    CDF decides.
    """
    g = _guess(kind, i, cf, total, alphabet, a, b, c)
    if g < 0:
        return _bisected(kind, i, cf, np.int64(0), np.int64(0), np.int64(alphabet), np.int64(total), total, alphabet,
                         a, b, c, table)
    c_g = _probe(kind, i, g, total, alphabet, a, b, c, table)
    c_next = _probe(kind, i, g + 1, total, alphabet, a, b, c, table)
    return search_from(kind, i, cf, g, c_g, c_next, total, alphabet, a, b, c, table)


@nb.njit(cache=True)
def search_from(kind, i, cf, g, c_g, c_next, total, alphabet, a, b, c, table):
    """find_symbol's answer given the counts c_g and c_next at a guess g and at g + 1: g itself when cf falls
    between them, else a gallop from g to a bracket, then bisection. A decoder that checked its own guess
    continues here without computing those counts again."""
    if c_g <= cf < c_next:
        return g, c_g, c_next - c_g
    step = np.int64(1)
    if c_g <= cf:
        lo, c_lo, hi, c_hi = g + 1, c_next, g + 1, c_next
        while c_hi <= cf:  # probes 1, 2, 4, ... above the last: a guess one too low costs one more count
            lo, c_lo = hi, c_hi
            hi = min(lo + step, alphabet)
            c_hi = _probe(kind, i, hi, total, alphabet, a, b, c, table)
            step *= 2
    else:
        hi, c_hi = g, c_g
        lo = max(g - 1, 0)
        c_lo = _probe(kind, i, lo, total, alphabet, a, b, c, table)
        while c_lo > cf:
            hi, c_hi = lo, c_lo
            step *= 2
            lo = max(hi - step, 0)
            c_lo = _probe(kind, i, lo, total, alphabet, a, b, c, table)
    return _bisected(kind, i, cf, lo, c_lo, hi, c_hi, total, alphabet, a, b, c, table)


@nb.njit(cache=True, inline="always")
def _bisected(kind, i, cf, lo, c_lo, hi, c_hi, total, alphabet, a, b, c, table):
    """The symbol under cf within the bracket cdf(lo) = c_lo <= cf < c_hi = cdf(hi), by bisection."""
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        c_mid = _probe(kind, i, mid, total, alphabet, a, b, c, table)
        if c_mid <= cf:
            lo, c_lo = mid, c_mid
        else:
            hi, c_hi = mid, c_mid
    return lo, c_lo, c_hi - c_lo


@nb.njit(cache=True, inline="always")
def _bounds_loop(kind, symbols, total, alphabet, a, b, c, table, starts, freqs):
    for i in range(symbols.shape[0]):
        s = symbols[i]
        start = cdf_at(kind, i, s, total, alphabet, a, b, c, table)
        starts[i] = start
        freqs[i] = cdf_at(kind, i, s + 1, total, alphabet, a, b, c, table) - start


@nb.njit(cache=True, nogil=True, error_model="numpy")
def bounds_kernel(symbols, precision, kind, alphabet, a, b, c, table, starts, freqs):
    """starts[i], freqs[i]: symbols[i]'s cumulative count and frequency out of 2**precision, as the coder uses them.

    Nothing here depends on the message, so the encoder computes them all first (push_kernel then only
    updates states). The portable logistic and Gaussian get loops of their own with nothing but their own
    family in them: those run in SIMD lanes (no fastmath: the same IEEE operations as one at a time, so the same bits).
    """
    total = np.int64(1) << precision
    if kind == LOGISTIC:
        _bounds_loop(LOGISTIC, symbols, total, alphabet, a, b, c, table, starts, freqs)
    elif kind == GAUSSIAN:
        _normal_bounds(symbols, total, alphabet, a, b, c, starts, freqs)
    elif kind == MIXTURE:
        _mixture_bounds(symbols, total, alphabet, a, b, c, starts, freqs)
    else:
        _bounds_loop(kind, symbols, total, alphabet, a, b, c, table, starts, freqs)


@nb.njit(cache=True, inline="always")
def _normal_bounds(symbols, total, alphabet, a, b, c, starts, freqs):
    """bounds_kernel's GAUSSIAN loop: cdf_at's numbers, with each symbol's two bin edges gathered first (a loop
    that reads c at symbol-dependent places would not run in SIMD lanes: the compiler cannot rule out that
    those reads overlap the outputs)."""
    lower, upper = c[0][symbols], c[0][symbols + 1]
    for i in range(symbols.shape[0]):
        k = symbols[i]
        start = _normal_counts(k, a[i, 0], b[i, 0], lower[i], total, alphabet, True)
        starts[i] = start
        freqs[i] = _normal_counts(k + 1, a[i, 0], b[i, 0], upper[i], total, alphabet, True) - start


@nb.njit(cache=True, inline="always")
def _mixture_bounds(symbols, total, alphabet, a, b, c, starts, freqs):
    """bounds_kernel's portable MIXTURE loop: cdf_at's counts, from _mixture_cdfs."""
    lower, upper = _mixture_cdfs(symbols, a, b, c)
    for i in range(symbols.shape[0]):
        k = symbols[i]
        start = _counts(min(lower[i], 1.0), k, alphabet, total)
        starts[i] = start
        freqs[i] = _counts(min(upper[i], 1.0), k + 1, alphabet, total) - start


@nb.njit(cache=True, inline="always")
def _mixture_cdfs(symbols, a, b, c):
    """Each item's _mixture_cdf below and above its symbol, one component at a time over every item (from
    contiguous copies), so that the loop over items runs in SIMD lanes where a loop over an item's components
    would not; each item still adds its components to 0.0 in the same order, so the bits are _mixture_cdf's."""
    lower, upper = np.zeros(symbols.shape[0]), np.zeros(symbols.shape[0])
    for m in range(a.shape[1]):
        weights, means, scales = a[:, m].copy(), b[:, m].copy(), c[:, m].copy()
        for i in range(symbols.shape[0]):
            k = symbols[i]
            lower[i] += weights[i] * _sigmoid((k - 0.5 - means[i]) / scales[i], True)
            upper[i] += weights[i] * _sigmoid((k + 1 - 0.5 - means[i]) / scales[i], True)
    return lower, upper


@nb.njit(cache=True, nogil=True)
def push_kernel(states, words, top, debt, precision, starts, freqs):
    """Push the symbols whose ranges bounds_kernel gave, i = n-1 .. 0, item i on state i % len(states).
    Returns (top, debt)."""
    lanes = states.shape[0]
    p = np.uint64(precision)
    count = starts.shape[0]
    j = (count - 1) % lanes  # lane of the last item; counted down without a division per symbol
    for i in range(count - 1, -1, -1):
        freq = np.uint64(freqs[i])
        x = states[j]
        if x >= ((STATE_LOWER >> p) << WORD_BITS) * freq:
            word = x & WORD_MASK
            x >>= WORD_BITS
            if top == 0 and debt > 0 and word == virtual_word(debt - 1):
                debt -= 1
            else:
                words[top] = np.uint32(word)
                top += 1
        quotient = x // freq
        states[j] = (quotient << p) + (x - quotient * freq) + np.uint64(starts[i])
        j = j - 1 if j > 0 else lanes - 1
    return top, debt


@nb.njit(cache=True, inline="always")
def _advance(states, j, x, cf, start, freq, p, words, top, debt):
    """Lane j's state after popping the symbol (start, freq) at cf from state x, renormalised from the stack
    (or from the words beneath it, counted as debt). Returns (top, debt)."""
    x = np.uint64(freq) * (x >> p) + np.uint64(cf - start)
    if x < STATE_LOWER:
        if top > 0:
            top -= 1
            word = np.uint64(words[top])
        else:
            word = virtual_word(debt)
            debt += 1
        x = (x << WORD_BITS) | word
    states[j] = x
    return top, debt


@nb.njit(cache=True, inline="always")
def _checked_logistic_guess(cf, total, alphabet, mean, scale):
    """The portable logistic's guess at cf with its exact start and frequency (the counts at it and at the next
    symbol, computed together: the CPU overlaps them), and whether cf falls in it (nearly always)."""
    s = _logistic_guess(cf, total, alphabet, mean, scale)
    start = _logistic_counts(s, mean, scale, total, alphabet, True)
    end = _logistic_counts(s + 1, mean, scale, total, alphabet, True)
    return s, start, end - start, start <= cf < end


@nb.njit(cache=True, inline="always")
def pop_symbol(states, j, words, top, debt, p, mask, total, kind, i, alphabet, a, b, c, table):
    """Pop item i's symbol from lane j (p: precision as uint64, mask and total: 2**p - 1 and 2**p).

    Returns (symbol, top, debt); every loop that pops calls this or, for the interleaved logistic, its parts
    (_logistic_rounds). The portable logistic, mixture and Gaussian check their guess here, against the exact
    counts at it and at the next symbol computed together (the CPU overlaps them, and the guess is right for
    most symbols), so that their loop has no call on that path; a miss continues from those counts.
    """
    x = states[j]
    cf = np.int64(x & mask)
    if kind == LOGISTIC:
        s, start, freq, found = _checked_logistic_guess(cf, total, alphabet, a[i, 0], b[i, 0])
    elif kind == GAUSSIAN:
        s = _normal_guess(cf, total, alphabet, a[i, 0], b[i, 0])
        start = _normal_counts(s, a[i, 0], b[i, 0], c[0, s], total, alphabet, True)
        end = _normal_counts(s + 1, a[i, 0], b[i, 0], c[0, s + 1], total, alphabet, True)
        freq = end - start
        found = start <= cf < end
    elif kind == MIXTURE:
        s = _mixture_guess(i, cf, total, alphabet, a, b, c)
        start = _probe(MIXTURE, i, s, total, alphabet, a, b, c, table)
        freq = _probe(MIXTURE, i, s + 1, total, alphabet, a, b, c, table) - start
        found = start <= cf < start + freq
    else:
        s, start, freq = find_symbol(kind, i, cf, total, alphabet, a, b, c, table)
        found = True
    if not found:  # a checked guess that missed: the search starts from its counts
        s, start, freq = search_from(kind, i, cf, s, start, start + freq, total, alphabet, a, b, c, table)
    top, debt = _advance(states, j, x, cf, start, freq, p, words, top, debt)
    return s, top, debt


@nb.njit(cache=True, nogil=True)
def pop_kernel(states, words, top, debt, precision, out, kind, alphabet, a, b, c, table):
    """Pop len(out) symbols, item i from state i % len(states), into out. Returns (top, debt)."""
    lanes = states.shape[0]
    p = np.uint64(precision)
    mask = (ONE << p) - ONE
    total = np.int64(1) << precision
    first = 0
    if kind == LOGISTIC and lanes > 1:
        first = out.shape[0] - out.shape[0] % lanes
        # `kind` rather than the literal LOGISTIC: a literal would compile search_from a second time
        top, debt = _logistic_rounds(states, words, top, debt, p, mask, total, first, out, kind, alphabet, a, b, c, table)
    j = 0
    for i in range(first, out.shape[0]):
        out[i], top, debt = pop_symbol(states, j, words, top, debt, p, mask, total, kind, i, alphabet, a, b, c, table)
        j = j + 1 if j < lanes - 1 else 0
    return top, debt


@nb.njit(cache=True, nogil=True)
def expected_pop_kernel(states, words, top, debt, precision, out, symbols, starts, freqs, kind, alphabet, a, b, c, table):
    """pop_kernel for a decoder told which symbols to expect and their ranges (an encoder checking its own
    message): a count within symbols[i]'s range decodes to symbols[i], as find_symbol would find it from the same
    counts, and any other count is popped by pop_symbol, as pop_kernel pops it. Returns (top, debt)."""
    lanes = states.shape[0]
    p = np.uint64(precision)
    mask = (ONE << p) - ONE
    total = np.int64(1) << precision
    j = 0
    for i in range(out.shape[0]):
        x = states[j]
        cf = np.int64(x & mask)
        if starts[i] <= cf < starts[i] + freqs[i]:
            out[i] = symbols[i]
            top, debt = _advance(states, j, x, cf, starts[i], freqs[i], p, words, top, debt)
        else:
            out[i], top, debt = pop_symbol(states, j, words, top, debt, p, mask, total, kind, i, alphabet, a, b, c, table)
        j = j + 1 if j < lanes - 1 else 0
    return top, debt


@nb.njit(cache=True)
def _logistic_rounds(states, words, top, debt, p, mask, total, count, out, kind, alphabet, a, b, c, table):
    """pop_kernel's first `count` items (a multiple of the lanes) for the portable logistic, a round of one
    item per lane at a time: every lane's symbol is found before any lane advances, so that the lanes'
    guesses and exact counts do not wait on each other's renormalisation. Same symbols and states as
    pop_symbol one item at a time. Returns (top, debt)."""
    lanes = states.shape[0]
    found = np.empty((4, lanes), dtype=np.int64)  # per lane: cf, symbol, start, frequency
    for first in range(0, count, lanes):
        for j in range(lanes):
            i = first + j
            cf = np.int64(states[j] & mask)
            s, start, freq, right = _checked_logistic_guess(cf, total, alphabet, a[i, 0], b[i, 0])
            if not right:
                s, start, freq = search_from(kind, i, cf, s, start, start + freq, total, alphabet, a, b, c, table)
            found[0, j], found[1, j], found[2, j], found[3, j] = cf, s, start, freq
        for j in range(lanes):
            out[first + j] = found[1, j]
            top, debt = _advance(states, j, states[j], found[0, j], found[2, j], found[3, j], p, words, top, debt)
    return top, debt


# --- The photo likelihood (bbvae/models/likelihoods/local_mixture.py, bbvae/coder/local.py) ------------------------------
# Its coding constants live here, beside the kernels that freeze them: Numba's cache is invalidated
# by changes to this file only, so every cached kernel and everything it inlines must be in it.
LOCAL_CENTRE = 128.0
LOCAL_INPUT_SCALE = 1.0 / 64.0
LOCAL_MEAN_SCALE = 32.0        # offsets are small next to the prediction: keep the raw outputs near unit size
LOCAL_LOG_SCALE_OFFSET = 2.0   # residual scales start around e^2 ~ 7 levels
LOCAL_LOG_SCALE_MIN, LOCAL_LOG_SCALE_MAX = -3.0, 8.0
# (dy, dx) of the causal neighbours a model may read; a model reads the first `local_neighbours` of them
# (ModelConfig): left, up, up-left, up-right, left-left, up-up, then up-left-left, up-right-right,
# up-up-left, up-up-right
LOCAL_NEIGHBOURS = ((0, -1), (-1, 0), (-1, -1), (-1, 1), (0, -2), (-2, 0), (-1, -2), (-1, 2), (-2, -1), (-2, 1))
LOCAL_CONTEXT = 2              # context rows above and columns left of an image (bbvae/models/context.py)
LOCAL_CONTEXT_RIGHT = 2        # context columns right of it (for up-right-right)
_NEIGHBOUR_OFFSETS = np.array(LOCAL_NEIGHBOURS, dtype=np.int64)


def local_outputs_per_channel(channels: int, mixture: int, neighbours: int) -> int:
    """Per pixel and channel: logits, offsets, log-scales (K each), neighbour and current-pixel coefficients."""
    return 3 * mixture + (neighbours + 1) * channels




@nb.njit(cache=True, inline="always")
def _accumulate(out, w_t, rows, count, h):
    """out[o] += w_t[j, o] * h[j] for j = rows[0], ..., rows[count - 1], in that order.

    Four rows per pass over `out` halve its loads and stores, which bound the loop; each out[o] still
    adds its terms one at a time in the same order, so the sums are bit for bit those of one row per pass.
    """
    a = 0
    while a + 4 <= count:
        j0, j1, j2, j3 = rows[a], rows[a + 1], rows[a + 2], rows[a + 3]
        h0, h1, h2, h3 = h[j0], h[j1], h[j2], h[j3]
        w0, w1, w2, w3 = w_t[j0], w_t[j1], w_t[j2], w_t[j3]
        for o in range(out.shape[0]):
            out[o] = (((out[o] + w0[o] * h0) + w1[o] * h1) + w2[o] * h2) + w3[o] * h3
        a += 4
    for b in range(a, count):
        j = rows[b]
        hj, wj = h[j], w_t[j]
        for o in range(out.shape[0]):
            out[o] += wj[o] * hj


@nb.njit(cache=True, inline="always")
def _positive_units(hidden, rows):
    """How many hidden units are above zero, their indices in rows[:count] (ascending): a zero unit adds nothing,
    and a list costs no unpredictable branch per unit."""
    count = 0
    for j in range(hidden.shape[0]):
        rows[count] = j
        count += hidden[j] > 0.0
    return count


@nb.njit(cache=True)
def _head_scratch(w_in_t, w_out_t):
    """_pixel_outputs' work arrays: neighbours, hidden, middle, out, rows."""
    inputs, hidden = w_in_t.shape
    return np.empty(inputs), np.empty(hidden), np.empty(hidden), np.empty(w_out_t.shape[1]), np.empty(hidden, np.int64)


@nb.njit(cache=True, inline="always")
def _pixel_outputs(context, y, x, features, p, w_in_t, w_mid_t, b_mid, w_out_t, b_out, neighbours, hidden, middle, out,
                   rows):
    """The head's raw outputs for pixel (y, x), whose decoder features are row p of `features`.

    The weights come transposed so that the inner loops run along contiguous rows
    (SIMD without reordering any sum: each output still adds its terms in order).
    Each of the len(b_mid) residual layers adds relu(W_mid hidden + b_mid) to the hidden units.
    rows: int64 scratch as long as the hidden units.
    """
    channels = context.shape[2]
    for n in range(w_in_t.shape[0] // channels):  # the model's first neighbours
        for d in range(channels):
            value = np.float64(context[y + LOCAL_CONTEXT + _NEIGHBOUR_OFFSETS[n, 0], x + LOCAL_CONTEXT + _NEIGHBOUR_OFFSETS[n, 1], d]) - LOCAL_CENTRE
            neighbours[n * channels + d] = value
    hidden[:] = features[p]
    for i in range(w_in_t.shape[0]):
        scaled = neighbours[i] * LOCAL_INPUT_SCALE
        for j in range(w_in_t.shape[1]):
            hidden[j] += w_in_t[i, j] * scaled
    for j in range(hidden.shape[0]):
        hidden[j] = max(hidden[j], 0.0)
    for layer in range(b_mid.shape[0]):
        middle[:] = b_mid[layer]
        _accumulate(middle, w_mid_t[layer], rows, _positive_units(hidden, rows), hidden)
        for k in range(middle.shape[0]):
            hidden[k] += max(middle[k], 0.0)
    out[:] = b_out
    _accumulate(out, w_out_t, rows, _positive_units(hidden, rows), hidden)


@nb.njit(cache=True, inline="always")
def shifted_scale(log_scale, shift, exact):
    """A component's scale from its unclamped log-scale and its patch's log-scale shift (bbvae/codecs/scale_shifts.py)."""
    return _exp(min(max(log_scale + shift, LOCAL_LOG_SCALE_MIN), LOCAL_LOG_SCALE_MAX), exact)


@nb.njit(cache=True)
def _item_mixture(context, y, x, c, out, neighbours, mixture, i, weights, means, log_scales, exact):
    """Item i's mixture (channel c of pixel (y, x)) from the pixel's raw outputs, into row i: weights,
    means and unclamped log-scales (shifted_scale makes them scales)."""
    channels = context.shape[2]
    inputs = neighbours.shape[0]  # neighbours read x channels
    per = 3 * mixture + inputs + channels
    base = c * per
    top = out[base]
    for k in range(1, mixture):
        top = max(top, out[base + k])
    total = 0.0
    for k in range(mixture):
        weights[i, k] = _exp(out[base + k] - top, exact)
        total += weights[i, k]
    for k in range(mixture):
        weights[i, k] /= total
    coef = base + 3 * mixture
    pred = LOCAL_CENTRE
    for n in range(inputs):
        pred += out[coef + n] * neighbours[n]
    current = coef + inputs
    for d in range(c):
        pred += out[current + d] * (np.float64(context[y + LOCAL_CONTEXT, x + LOCAL_CONTEXT, d]) - LOCAL_CENTRE)
    for k in range(mixture):
        means[i, k] = pred + LOCAL_MEAN_SCALE * out[base + mixture + k]
        log_scales[i, k] = out[base + 2 * mixture + k] + LOCAL_LOG_SCALE_OFFSET


@nb.njit(cache=True, nogil=True, error_model="numpy")  # releases the GIL: classical encodings run beside it
def local_params_kernel(context, positions, channels, pixels, features, w_in, w_mid, b_mid, w_out, b_out, weights, means,
                        log_scales, exact):
    """Every item's mixture, with unclamped log-scales, from a context array that holds all pixels (encoding);
    `exact`: exact_exp, else libm (legacy files)."""
    mixture = weights.shape[1]
    neighbours, hidden, middle, out, rows = _head_scratch(w_in, w_out)
    for i in range(positions.shape[0]):
        y, x = positions[i, 0], positions[i, 1]
        if i == 0 or pixels[i] != pixels[i - 1]:
            _pixel_outputs(context, y, x, features, pixels[i], w_in, w_mid, b_mid, w_out, b_out, neighbours, hidden, middle,
                           out, rows)
        _item_mixture(context, y, x, channels[i], out, neighbours, mixture, i, weights, means, log_scales, exact)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def shifted_scales_kernel(log_scales, shifts, scales, exact):
    """scales[i, k] from unclamped log_scales[i, k] and item i's log-scale shift."""
    for i in range(log_scales.shape[0]):
        for k in range(log_scales.shape[1]):
            scales[i, k] = shifted_scale(log_scales[i, k], shifts[i], exact)


SHIFT_COST_FLOOR = 1e-30    # the least probability an item counts with under any shift (about 69 nats)
_PRODUCT_FLUSH = 1e-250     # running products are logged below this: one more item (>= the floor) stays normal


@nb.njit(cache=True, nogil=True, error_model="numpy")
def shift_search_kernel(values, groups, weights, means, log_scales, candidates, start, costs, chosen):
    """chosen[g]: the candidate index at which group g's cost is least, found by descent from `start`.

    The descent moves to a neighbouring candidate while that one costs less, then over neighbours that cost
    the same towards the smaller index, so wherever a group's costs fall to one minimum and rise from it,
    it is the full search's choice (ties to the smaller index) after a few candidates instead of all.
    costs[g, j]: the nats of group g's items with every log-scale shifted by candidates[j], NaN for the
    candidates the descent never needed. Each candidate's items are computed in one loop that runs in SIMD
    lanes, from the group's items gathered beside each other.
    """
    count = candidates.shape[0]
    factors = np.empty(count)
    for j in range(count):
        factors[j] = exact_exp(candidates[j])
    costs[:] = np.nan
    order, offsets = _grouped(groups, chosen.shape[0])
    mixture = weights.shape[1]
    largest_group = np.max(offsets[1:] - offsets[:-1]) if chosen.shape[0] else 0
    tops, bottoms = np.empty(largest_group, np.bool_), np.empty(largest_group, np.bool_)
    shape = (mixture, largest_group)
    item_weights, aboves, belows, scales = np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape)
    p = np.empty(largest_group)
    for g in range(chosen.shape[0]):
        size = offsets[g + 1] - offsets[g]
        for t in range(size):
            i = order[offsets[g] + t]
            x = np.float64(values[i])
            tops[t], bottoms[t] = x >= PIXEL_LEVELS - 1, x <= 0
            for k in range(mixture):
                item_weights[k, t], scales[k, t] = weights[i, k], exact_exp(log_scales[i, k])
                aboves[k, t], belows[k, t] = x + 0.5 - means[i, k], x - 0.5 - means[i, k]
        parts = (size, tops, bottoms, item_weights, aboves, belows, scales, p)
        j = start
        _shift_cost(g, j, factors, costs, parts)
        while True:
            if j > 0 and _shift_cost(g, j - 1, factors, costs, parts) < costs[g, j]:
                j -= 1
            elif j < count - 1 and _shift_cost(g, j + 1, factors, costs, parts) < costs[g, j]:
                j += 1
            else:
                break
        while j > 0 and _shift_cost(g, j - 1, factors, costs, parts) == costs[g, j]:
            j -= 1
        chosen[g] = j


@nb.njit(cache=True)
def _grouped(groups, count):
    """The items' indices ordered by group, each group's in their own order, and where each group begins."""
    offsets = np.zeros(count + 1, np.int64)
    for i in range(groups.shape[0]):
        offsets[groups[i] + 1] += 1
    for g in range(count):
        offsets[g + 1] += offsets[g]
    filled = offsets[:-1].copy()
    order = np.empty(groups.shape[0], np.int64)
    for i in range(groups.shape[0]):
        order[filled[groups[i]]] = i
        filled[groups[i]] += 1
    return order, offsets


@nb.njit(cache=True, error_model="numpy")
def _shift_cost(g, j, factors, costs, parts):
    """costs[g, j], computed the first time it is asked for: the continuous discretized-logistic probability, not
    the coder's integer frequencies (the encoder only uses it to choose shifts, which it then transmits). A
    running product is logged only when it grows small, so an item costs no logarithm; exact_exp and exact_log
    make the choice, and so the file, the same on every machine."""
    if not np.isnan(costs[g, j]):
        return costs[g, j]
    size, tops, bottoms, item_weights, aboves, belows, scales, p = parts
    _shifted_probabilities(size, tops, bottoms, item_weights, aboves, belows, scales, factors[j], p)
    cost, product = 0.0, 1.0
    for t in range(size):
        product *= max(p[t], SHIFT_COST_FLOOR)
        if product < _PRODUCT_FLUSH:
            cost -= exact_log(product)
            product = 1.0
    costs[g, j] = cost - exact_log(product)
    return costs[g, j]


@nb.njit(cache=True, error_model="numpy")
def _shifted_probabilities(size, tops, bottoms, item_weights, aboves, belows, scales, factor, p):
    """p[t]: item t's probability with its log-scales shifted by log(factor); one loop over the items per
    component, computed for every item so that the SIMD lanes take no branch."""
    smallest, largest = exact_exp(LOCAL_LOG_SCALE_MIN), exact_exp(LOCAL_LOG_SCALE_MAX)
    p[:size] = 0.0
    for k in range(item_weights.shape[0]):
        for t in range(size):
            scale = min(max(scales[k, t] * factor, smallest), largest)
            upper, lower = _sigmoid(aboves[k, t] / scale, True), _sigmoid(belows[k, t] / scale, True)
            p[t] += item_weights[k, t] * ((1.0 if tops[t] else upper) - (0.0 if bottoms[t] else lower))


@nb.njit(cache=True, inline="always")
def _store(context, y, x, c, value, replicate):
    """Write a decoded value into the context array (every channel with `replicate`)."""
    first = 0 if replicate else c
    last = context.shape[2] if replicate else c + 1
    for d in range(first, last):
        context[y + LOCAL_CONTEXT, x + LOCAL_CONTEXT, d] = value


@nb.njit(cache=True, nogil=True, error_model="numpy")
def local_pop_kernel(states, words, top, debt, precision, context, positions, channels, pixels, features, w_in, w_mid,
                     b_mid, w_out, b_out, shifts, weights, means, scales, replicate, kind, out_symbols):
    """Pop items in order, each mixture computed from the pixels decoded before it and item i's
    log-scale shift shifts[i]; kind MIXTURE or LEGACY_MIXTURE. Returns (top, debt)."""
    exact = kind < LEGACY
    lanes = states.shape[0]
    p = np.uint64(precision)
    mask = (ONE << p) - ONE
    total = np.int64(1) << precision
    table = np.zeros((1, 1), dtype=np.uint32)
    mixture = weights.shape[1]
    neighbours, hidden, middle, out, rows = _head_scratch(w_in, w_out)
    j = 0
    for i in range(positions.shape[0]):
        y, x, c = positions[i, 0], positions[i, 1], channels[i]
        if i == 0 or pixels[i] != pixels[i - 1]:
            _pixel_outputs(context, y, x, features, pixels[i], w_in, w_mid, b_mid, w_out, b_out, neighbours, hidden, middle,
                           out, rows)
        _item_mixture(context, y, x, c, out, neighbours, mixture, i, weights, means, scales, exact)
        for k in range(mixture):
            scales[i, k] = shifted_scale(scales[i, k], shifts[i], exact)
        s, top, debt = pop_symbol(states, j, words, top, debt, p, mask, total, kind, i,
                                          PIXEL_LEVELS, weights, means, scales, table)
        out_symbols[i] = s
        _store(context, y, x, c, np.uint8(s), replicate)
        j = j + 1 if j < lanes - 1 else 0
    return top, debt
