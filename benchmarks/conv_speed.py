"""Where the portable arithmetic's network time goes: float64 convolutions against the GEMM under them and float32.

    python benchmarks/conv_speed.py

For the shipped photo model's convolutions at one strip of a 512-pixel-wide photograph (16 patches), on one
torch thread: torch's float64 conv2d (what bbvae codes with, docs/ARITHMETIC.md), the same exact sum as
an explicit im2col copy plus one float64 GEMM (torch.addmm), and torch's float32 conv2d (oneDNN, whose
sums are not exact). The float64 results are compared for equality: the sums are exact, so any method gives
the same bits. Writes benchmarks/results/conv_speed.{json,md}.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bbvae.bench.report import markdown_table, write_results

# (batch, in channels, side, out channels, kernel, stride, calls per strip): the photo model's conv2d layers
LAYERS = [(16, 3, 32, 16, 3, 1, 1), (16, 16, 32, 32, 4, 2, 1), (16, 32, 16, 32, 3, 1, 4), (16, 32, 16, 32, 4, 2, 1),
          (16, 32, 8, 32, 3, 1, 4), (16, 16, 32, 64, 3, 1, 1)]


def best_ms(function, repeats: int = 30) -> float:
    import time

    function()
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - began)
    return 1000 * best


def im2col_gemm(x, weight, bias, kernel, stride):
    """The convolution as one exact float64 GEMM over an explicit im2col copy (padding 1)."""
    padded = F.pad(x, (1, 1, 1, 1))
    n, c, height, width = padded.shape
    out_h, out_w = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    s_n, s_c, s_h, s_w = padded.stride()
    columns = padded.as_strided((c, kernel, kernel, n, out_h, out_w),
                                (s_c, s_h, s_w, s_n, s_h * stride, s_w * stride)).reshape(c * kernel * kernel, -1)
    out = torch.addmm(bias[:, None], weight.reshape(len(weight), -1), columns)
    return out.view(-1, n, out_h, out_w).permute(1, 0, 2, 3).contiguous()


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = []
    for batch, channels, side, outputs, kernel, stride, calls in LAYERS:
        x = torch.from_numpy(np.floor(rng.uniform(-1024, 1024, (batch, channels, side, side)) * 2**16) / 2**16)
        weight = torch.from_numpy(np.floor(rng.uniform(-1, 1, (outputs, channels, kernel, kernel)) * 2**20) / 2**20)
        bias = torch.from_numpy(np.floor(rng.uniform(-1, 1, outputs) * 2**36) / 2**36)
        reference = F.conv2d(x, weight, bias, stride, 1)
        assert torch.equal(reference, im2col_gemm(x, weight, bias, kernel, stride))  # exact sums: the same bits
        flops = 2 * reference.numel() * channels * kernel * kernel
        timings = {"float64_conv2d_ms": best_ms(lambda: F.conv2d(x, weight, bias, stride, 1)),
                   "float64_im2col_gemm_ms": best_ms(lambda: im2col_gemm(x, weight, bias, kernel, stride)),
                   "float32_conv2d_ms": best_ms(lambda: F.conv2d(x.float(), weight.float(), bias.float(), stride, 1))}
        rows.append({"layer": f"{channels}->{outputs} {kernel}x{kernel}/{stride} at {side}x{side}", "calls_per_strip": calls,
                     **timings, "float64_conv2d_gflop_s": flops / timings["float64_conv2d_ms"] / 1e6})
    total = {key: sum(row[key] * row["calls_per_strip"] for row in rows)
             for key in ("float64_conv2d_ms", "float64_im2col_gemm_ms", "float32_conv2d_ms")}
    summary = {**{f"strip_{key}": value for key, value in total.items()},
               "im2col_gemm_speedup": total["float64_conv2d_ms"] / total["float64_im2col_gemm_ms"],
               "float32_speedup": total["float64_conv2d_ms"] / total["float32_conv2d_ms"], "threads": 1}
    table = markdown_table(rows, ["layer", "calls_per_strip", "float64_conv2d_ms", "float64_im2col_gemm_ms",
                                  "float32_conv2d_ms", "float64_conv2d_gflop_s"])
    print(table)
    print(summary)
    print(f"results written to {write_results('conv_speed', summary, rows, table)}")


if __name__ == "__main__":
    main()
