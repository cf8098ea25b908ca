"""The portable arithmetic's building blocks (docs/ARITHMETIC.md): exact elementary functions, exact layer
sums, and compiled kernels without fused multiply-adds."""

from __future__ import annotations

import math
import re

import numba as nb
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from bbvae.coder import DiscretizedLogistic, kernels
from bbvae.coder.latents import LatentBins
from bbvae.coder.message import coding_ranges
from bbvae.models import fixed_point

finite = st.floats(-700, 700, allow_nan=False)


def _apply(kernel, values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    kernel(values, out)
    return out


@given(st.lists(finite, min_size=1, max_size=50))
def test_exact_exp_is_accurate(values):
    np.testing.assert_allclose(_apply(kernels.exact_exp_kernel, values), np.exp(values), rtol=1e-15, atol=0)


@given(st.lists(st.floats(1e-300, 1e300), min_size=1, max_size=50))
def test_exact_log2_is_accurate(values):
    np.testing.assert_allclose(_apply(kernels.exact_log2_kernel, values), np.log2(values), rtol=1e-15, atol=1e-15)


@given(st.floats(-8, 25))
def test_exact_erfc_is_within_its_fit(x):
    assert abs(kernels.exact_erfc(x) - math.erfc(x)) <= 1.3e-7 * math.erfc(x)


def test_exact_erfc_is_monotone_on_a_fine_grid():
    grid = np.linspace(-6, 6, 200001)
    values = np.array([kernels.exact_erfc(x) for x in grid[::10]])
    assert np.all(np.diff(values) <= 0)  # non-increasing (near -6 it saturates at 2.0)


@pytest.mark.parametrize("precision", [1, 5, 10, 12])
def test_portable_bins_are_equal_mass_and_ordered(precision):
    bins = LatentBins(precision)
    assert np.all(np.diff(bins.edges) > 0) and np.all((bins.centres > bins.edges[:-1]) & (bins.centres < bins.edges[1:]))
    legacy = LatentBins(precision, legacy=True)  # Python's NormalDist: the exact quantiles, up to libm
    np.testing.assert_allclose(bins.edges[1:-1], legacy.edges[1:-1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(bins.centres, legacy.centres, rtol=0, atol=1e-6)


@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 7, 64, 300]), st.floats(1e-3, 30.0))
def test_a_layer_sums_exactly_even_at_its_bound(seed, fan_in, spread):
    """Extreme activations (+-limit, the bound's worst case) through a random layer: torch's float64 result
    equals the exact integer sum in units of the layer's grid."""
    rng = np.random.default_rng(seed)
    layer = nn.Linear(fan_in, 5)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.normal(0, spread, (5, fan_in))))
        layer.bias.copy_(torch.from_numpy(rng.normal(0, spread, 5)))
    affine = fixed_point._Affine(layer)
    signs = rng.choice([-1.0, 1.0], (3, fan_in))
    x = torch.from_numpy(signs * fixed_point.ACTIVATION_LIMIT)
    exact_sum = torch.nn.functional.linear(x, affine.weight, affine.bias).numpy()
    bits = affine.fraction_bits + fixed_point.ACTIVATION_FRACTION_BITS
    w_units = (affine.weight.numpy() * 2.0 ** affine.fraction_bits).astype(np.int64)
    b_units = (affine.bias.numpy() * 2.0 ** bits).astype(np.int64)
    a_units = (signs * fixed_point.ACTIVATION_LIMIT * 2.0 ** fixed_point.ACTIVATION_FRACTION_BITS).astype(np.int64)
    reference = a_units @ w_units.T + b_units  # int64: exact
    assert np.abs(reference).max() < 2 ** 53
    np.testing.assert_array_equal((exact_sum * 2.0 ** bits).astype(np.int64), reference)


def test_fixed_point_outputs_lie_on_the_grid():
    values = np.random.default_rng(0).normal(0, 500, 10000)
    for silu in (False, True):
        out = fixed_point.on_grid(values, silu)
        units = out * 2.0 ** fixed_point.ACTIVATION_FRACTION_BITS
        assert np.all(units == np.floor(units)) and np.abs(out).max() <= fixed_point.ACTIVATION_LIMIT
    with np.errstate(over="ignore"):
        silu = np.clip(values / (1 + np.exp(-values)), -fixed_point.ACTIVATION_LIMIT, fixed_point.ACTIVATION_LIMIT)
    np.testing.assert_allclose(fixed_point.on_grid(values, True), silu, rtol=0, atol=2 ** -17)


@given(st.integers(0, 2**32 - 1), st.integers(1, 20), st.integers(1, 70), st.integers(1, 9), st.booleans())
def test_a_pointwise_layer_is_the_convolution_stored_channels_last(seed, n, channels, side, channels_last_input):
    """A 1x1 convolution runs as a matrix product over channels (fixed_point._pointwise): its values are
    torch's conv2d's to the bit, from either input layout, rounded in place as channels-last."""
    rng = np.random.default_rng(seed)
    layer = nn.Conv2d(channels, int(rng.integers(1, 70)), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(rng.normal(0, 1, layer.weight.shape)))
        layer.bias.copy_(torch.from_numpy(rng.normal(0, 1, layer.bias.shape)))
    affine = fixed_point._Affine(layer)
    x = torch.from_numpy(fixed_point.on_grid(rng.normal(0, 100, (n, channels, side, side))))
    if channels_last_input:
        x = x.contiguous(memory_format=torch.channels_last)
    out = affine(x)
    assert out.permute(0, 2, 3, 1).is_contiguous()
    reference = fixed_point.on_grid(torch.nn.functional.conv2d(x, affine.weight, affine.bias).numpy())
    np.testing.assert_array_equal(out.numpy(), reference)


@given(st.integers(1, 3 * fixed_point.BATCH + 1), st.integers(0, 2 ** 32 - 1))
def test_a_sample_gives_the_same_bits_in_any_batch(count, seed):
    """The networks run BATCH samples per torch call; each sample's result is that of the sample alone."""
    from helpers import tiny_model

    networks = fixed_point.FixedPointVAE(tiny_model())
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (count, 1, 8, 8)).astype(np.uint8)
    latents = rng.normal(0, 2, (count, networks.cfg.latent))
    together, alone = networks.posterior(pixels), [networks.posterior(pixels[i:i + 1]) for i in range(count)]
    for part in range(2):
        np.testing.assert_array_equal(together[part], np.concatenate([one[part] for one in alone]))
    np.testing.assert_array_equal(networks.decode(latents),
                                  np.concatenate([networks.decode(latents[i:i + 1]) for i in range(count)]))


FUSED = re.compile(r"\bvf(n?m(add|sub))")


@pytest.mark.parametrize("kernel, signature", [
    (kernels.exact_exp, "float64(float64)"),
    (kernels.exact_log, "float64(float64)"),
    (kernels.exact_erfc, "float64(float64)"),
    (kernels.fixed_point_kernel, "void(float64[::1], float64, float64, boolean)"),
    (kernels.bounds_kernel, "void(int64[::1], int64, int64, int64, float64[:, ::1], float64[:, ::1], "
                            "float64[:, ::1], uint32[:, ::1], int64[::1], int64[::1])"),
])
def test_compiled_kernels_have_no_fused_multiply_adds(kernel, signature):
    """On a CPU with FMA (compiled for the host), a contraction would make results differ from CPUs without it."""
    options = {key: value for key, value in kernel.targetoptions.items() if key != "nopython"}
    fresh = nb.njit(signature, cache=False, **options)(kernel.py_func)  # as the package compiles it (SIMD loops too)
    assembly = next(iter(fresh.inspect_asm().values()))
    assert not FUSED.search(assembly)


@given(st.integers(0, 2**32 - 1), st.integers(100, 400), st.integers(8, 31))
def test_vectorised_ranges_equal_one_item_at_a_time(seed, count, precision):
    """The encoder's ranges come from loops that run in SIMD lanes (kernels.bounds_kernel) and from their
    scalar remainder; each item must get the same numbers from either, for logistics and Gaussian posteriors."""
    rng = np.random.default_rng(seed)
    bins = LatentBins(int(rng.integers(1, 11)))
    logistic = DiscretizedLogistic(rng.uniform(-100, 360, count), np.exp(rng.uniform(-6, 7, count)), precision)
    gaussian = bins.posterior(rng.normal(0, 3, count), np.exp(rng.uniform(-9, 2, count)), max(precision, bins.precision))
    for codec, alphabet in ((logistic, 256), (gaussian, bins.count)):
        symbols = rng.integers(0, alphabet, count)
        together = np.stack(coding_ranges(symbols, codec.precision, codec.kind, alphabet, codec.params))
        alone = [coding_ranges(symbols[i:i + 1], codec.precision, codec.kind, alphabet,
                               {name: value[i:i + 1] if len(value) == count else value for name, value in codec.params.items()})
                 for i in range(count)]
        np.testing.assert_array_equal(together, np.concatenate([np.stack(pair) for pair in alone], axis=1))


@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 5), st.integers(12, 31))
def test_the_encoders_mixture_ranges_are_the_decoders_counts(seed, count, mixture, precision):
    """The encoder's local-mixture ranges come from a loop over items, one component at a time, in SIMD lanes
    (kernels._mixture_cdfs); the decoder computes each CDF with _mixture_cdf. Their values agree to the bit (a
    count changes only where a last bit crosses a count's edge), and so the counts agree with cdf_at's."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.dirichlet(np.ones(mixture), count), rng.uniform(-100, 360, (count, mixture)), \
        np.exp(rng.uniform(-3, 8, (count, mixture)))
    symbols = rng.integers(0, 256, count)
    symbols[rng.random(count) < 0.2] = 0
    symbols[rng.random(count) < 0.2] = 255
    lower, upper = kernels._mixture_cdfs(symbols, a, b, c)
    starts, freqs = coding_ranges(symbols, precision, kernels.MIXTURE, 256, {"a": a, "b": b, "c": c})
    total = 1 << precision
    for i, symbol in enumerate(symbols):
        assert lower[i] == kernels._mixture_cdf(i, float(symbol) - 0.5, a, b, c, True)
        assert upper[i] == kernels._mixture_cdf(i, float(symbol + 1) - 0.5, a, b, c, True)
        start = kernels.cdf_at(kernels.MIXTURE, i, symbol, total, 256, a, b, c, kernels._NO_TABLE)
        end = kernels.cdf_at(kernels.MIXTURE, i, symbol + 1, total, 256, a, b, c, kernels._NO_TABLE)
        assert (starts[i], freqs[i]) == (start, end - start)
