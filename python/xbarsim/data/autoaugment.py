"""AutoAugment, CIFAR-10 policy, on batched uint8 images: each operation runs once per batch on
the images that chose it, with per-image magnitudes and signs.

Semantics follow the reference code's image operations (PIL-based), bit for bit on the images
compared in tests/unit/test_transforms.py: geometric ops sample at pixel centres with fill 128
(shear: bicubic, cubic convolution a = -1, neighbours clamped at the border, truncated; translate
and rotate: nearest, rotate in 16.16 fixed point); colour, contrast, brightness and sharpness blend
with a degenerate image in float32 and truncate; grey is ITU-R 601 luma in 16-bit fixed point; the
smoothing kernel for sharpness is [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 with the border left
unchanged; posterize, solarize, autocontrast and equalize work per channel through lookup tables.

Random draws per batch of B images, in order, from the caller's generator: sub-policy index
(B integers in [0, 25)), then for operation 1 and 2 each: B uniforms in [0, 1) (apply when below
p) and B signs. The count never depends on the images or on the outcomes.

Spec: experiments.md §2.1 (the policy table and magnitude tables).
"""
from __future__ import annotations

import math

import torch

__all__ = ["CIFAR10_POLICY", "OPS", "magnitude", "autoaugment_cifar10", "apply_op"]

#: The operations, in a fixed order (their index is the op id).
OPS: tuple[str, ...] = ("shearX", "shearY", "translateX", "translateY", "rotate", "color", "posterize",
                        "solarize", "contrast", "sharpness", "brightness", "autocontrast", "equalize", "invert")

#: experiments.md §2.1: 25 sub-policies, each ((op, p, m), (op, p, m)) with m a magnitude index 0..9.
CIFAR10_POLICY: tuple[tuple[tuple[str, float, int], tuple[str, float, int]], ...] = (
    (("invert", 0.1, 7), ("contrast", 0.2, 6)),
    (("rotate", 0.7, 2), ("translateX", 0.3, 9)),
    (("sharpness", 0.8, 1), ("sharpness", 0.9, 3)),
    (("shearY", 0.5, 8), ("translateY", 0.7, 9)),
    (("autocontrast", 0.5, 8), ("equalize", 0.9, 2)),
    (("shearY", 0.2, 7), ("posterize", 0.3, 7)),
    (("color", 0.4, 3), ("brightness", 0.6, 7)),
    (("sharpness", 0.3, 9), ("brightness", 0.7, 9)),
    (("equalize", 0.6, 5), ("equalize", 0.5, 1)),
    (("contrast", 0.6, 7), ("sharpness", 0.6, 5)),
    (("color", 0.7, 7), ("translateX", 0.5, 8)),
    (("equalize", 0.3, 7), ("autocontrast", 0.4, 8)),
    (("translateY", 0.4, 3), ("sharpness", 0.2, 6)),
    (("brightness", 0.9, 6), ("color", 0.2, 8)),
    (("solarize", 0.5, 2), ("invert", 0.0, 3)),
    (("equalize", 0.2, 0), ("autocontrast", 0.6, 0)),
    (("equalize", 0.2, 8), ("equalize", 0.6, 4)),
    (("color", 0.9, 9), ("equalize", 0.6, 6)),
    (("autocontrast", 0.8, 4), ("solarize", 0.2, 8)),
    (("brightness", 0.1, 3), ("color", 0.7, 0)),
    (("solarize", 0.4, 5), ("autocontrast", 0.9, 3)),
    (("translateY", 0.9, 9), ("translateY", 0.7, 9)),
    (("autocontrast", 0.9, 2), ("solarize", 0.8, 3)),
    (("equalize", 0.8, 8), ("invert", 0.1, 3)),
    (("translateY", 0.7, 9), ("autocontrast", 0.9, 1)),
)

FILL = 128
_SIGNED = {"shearX", "shearY", "translateX", "translateY", "color", "contrast", "sharpness", "brightness"}


def _linspace(a: float, b: float, m: int) -> float:
    # numpy.linspace(a, b, 10)[m], the way the magnitude tables are written
    return a + (b - a) / 9 * m if m < 9 else float(b)


def magnitude(op: str, m: int) -> float:
    """The magnitude of ``op`` at index ``m`` (0..9), before any random sign.

    shear: shear factor; translate: fraction of the image size; rotate: degrees; colour ops: the
    deviation of the enhance factor from 1; posterize: bits kept; solarize: threshold; 0 for the
    ops that ignore it.
    """
    if op in ("shearX", "shearY"):
        return _linspace(0.0, 0.3, m)
    if op in ("translateX", "translateY"):
        return _linspace(0.0, 150 / 331, m)
    if op == "rotate":
        return _linspace(0.0, 30.0, m)
    if op in ("color", "contrast", "sharpness", "brightness"):
        return _linspace(0.0, 0.9, m)
    if op == "posterize":
        return float(round(_linspace(8.0, 4.0, m)))
    if op == "solarize":
        return _linspace(256.0, 0.0, m)
    if op in ("autocontrast", "equalize", "invert"):
        return 0.0
    raise ValueError(f"magnitude: op must be one of {', '.join(OPS)}; got {op!r}")


# ----------------------------------------------------------------------------- geometric ops

def _affine_nearest(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Output pixel (i, j) takes the input pixel (floor(v), floor(u)) with
    (u, v) = A @ (j + 0.5, i + 0.5, 1), A = coeffs[b] (2x3); FILL where that lies outside."""
    b, c, h, w = x.shape
    dev = x.device
    ys = torch.arange(h, device=dev, dtype=torch.float64).view(1, h, 1) + 0.5
    xs = torch.arange(w, device=dev, dtype=torch.float64).view(1, 1, w) + 0.5
    a = coeffs.to(dev, torch.float64).view(b, 6, 1, 1)
    u = a[:, 0] * xs + a[:, 1] * ys + a[:, 2]  # [b, h, w]
    v = a[:, 3] * xs + a[:, 4] * ys + a[:, 5]
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    index = (v.floor().long().clamp(0, h - 1) * w + u.floor().long().clamp(0, w - 1))
    out = x.reshape(b, c, h * w).gather(2, index.view(b, 1, h * w).expand(b, c, h * w)).view(b, c, h, w)
    return torch.where(inside.unsqueeze(1), out, torch.full_like(out, FILL))


def _shear_x(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Bicubic shear along x: output (i, j) reads the input at u = (j + 0.5) + m (i + 0.5) in row i.

    The sample lies on the row's centre line, so only the four horizontal taps
    v1..v4 at floor(u - 0.5) - 1 .. + 2 (clamped into the row) contribute. With d the fractional
    part of u - 0.5 the value is the cubic convolution with a = -1, in Horner form
    v2 + d (v3 - v1 + d (2 v1 - 2 v2 + v3 - v4 + d (v2 - v1 + v4 - v3))), clipped to 0..255 and
    truncated (PIL's bicubic). Outside 0 <= u < W the result is FILL.
    """
    b, c, h, w = x.shape
    dev = x.device
    ys = torch.arange(h, device=dev, dtype=torch.float64).view(1, h, 1) + 0.5
    xs = torch.arange(w, device=dev, dtype=torch.float64).view(1, 1, w) + 0.5
    u = xs + m.to(dev, torch.float64).view(b, 1, 1) * ys  # [b, h, w]
    inside = (u >= 0) & (u < w)
    u0 = u - 0.5
    fx = u0.floor()
    d = (u0 - fx).unsqueeze(1)
    fx = fx.long()
    rows = x.to(torch.float64)
    v1, v2, v3, v4 = (rows.gather(3, (fx + k).clamp(0, w - 1).unsqueeze(1).expand(b, c, h, w))
                      for k in (-1, 0, 1, 2))
    value = v2 + d * ((v3 - v1) + d * ((2 * (v1 - v2) + v3 - v4) + d * (-v1 + v2 - v3 + v4)))
    out = value.clamp(0, 255).trunc().to(torch.uint8)
    return torch.where(inside.unsqueeze(1), out, torch.full_like(out, FILL))


def _fix(v: float) -> int:
    """16.16 fixed point, rounded: how PIL's nearest-neighbour affine path walks the image."""
    return math.floor(v * 65536.0 + 0.5)


def _rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate counter-clockwise about the image centre, nearest neighbour, FILL outside.

    Output pixel (i, j) reads the input at the inverse rotation of its centre. As in the reference
    code's PIL, the matrix entries are cos/sin rounded to 15 decimals and the coordinates run in
    16.16 fixed point (exact integers, so the result does not depend on evaluation order).
    """
    b, c, h, w = x.shape
    dev = x.device
    cx, cy = w / 2.0, h / 2.0
    fixed = torch.empty((b, 6), dtype=torch.int64)
    for angle in degrees.unique().tolist():  # at most the 10 table magnitudes
        t = -math.radians(angle)
        a0, a1 = round(math.cos(t), 15), round(math.sin(t), 15)
        a3, a4 = round(-math.sin(t), 15), round(math.cos(t), 15)
        a2 = a0 * -cx + a1 * -cy + cx
        a5 = a3 * -cx + a4 * -cy + cy
        row = [_fix(a2 + a1 * 0.5 + a0 * 0.5), _fix(a0), _fix(a1), _fix(a5 + a4 * 0.5 + a3 * 0.5), _fix(a3), _fix(a4)]
        fixed[degrees.cpu() == angle] = torch.tensor(row, dtype=torch.int64)
    f = fixed.to(dev).view(b, 6, 1, 1)
    i = torch.arange(h, device=dev).view(1, h, 1)
    j = torch.arange(w, device=dev).view(1, 1, w)
    u = (f[:, 0] + i * f[:, 2] + j * f[:, 1]) >> 16  # [b, h, w]: floor of the input column
    v = (f[:, 3] + i * f[:, 5] + j * f[:, 4]) >> 16
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    index = v.clamp(0, h - 1) * w + u.clamp(0, w - 1)
    out = x.reshape(b, c, h * w).gather(2, index.view(b, 1, h * w).expand(b, c, h * w)).view(b, c, h, w)
    return torch.where(inside.unsqueeze(1), out, torch.full_like(out, FILL))


def _geometric(op: str, x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    b, _, h, w = x.shape
    zeros, ones = torch.zeros_like(value), torch.ones_like(value)
    if op == "shearX":
        return _shear_x(x, value)
    if op == "shearY":  # v = m (j + 0.5) + (i + 0.5): a shear along x of the transposed image
        return _shear_x(x.transpose(2, 3), value).transpose(2, 3).contiguous()
    if op == "rotate":
        return _rotate(x, value)
    if op == "translateX":
        coeffs = torch.stack([ones, zeros, value * w, zeros, ones, zeros], 1)
    else:  # translateY
        coeffs = torch.stack([ones, zeros, zeros, zeros, ones, value * h], 1)
    return _affine_nearest(x, coeffs)


# ----------------------------------------------------------------------------- colour ops

def _grey(x: torch.Tensor) -> torch.Tensor:
    """Luma (ITU-R 601, 16-bit fixed point, rounded), int32 [b, 1, h, w]; a 1-channel image is its own."""
    if x.shape[1] == 1:
        return x.to(torch.int32)
    r, g, bl = x[:, 0:1].to(torch.int32), x[:, 1:2].to(torch.int32), x[:, 2:3].to(torch.int32)
    return (r * 19595 + g * 38470 + bl * 7471 + 0x8000) >> 16


def _blend(degenerate: torch.Tensor, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``degenerate + factor * (x - degenerate)`` in float32, truncated toward zero, clipped to 0..255."""
    d = degenerate.to(torch.float32)
    f = factor.to(x.device, torch.float32).view(-1, 1, 1, 1)
    out = d + f * (x.to(torch.float32) - d)
    return out.clamp(0, 255).trunc().to(torch.uint8)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """3x3 kernel [[1,1,1],[1,5,1],[1,1,1]]/13 inside, rounded; the one-pixel border unchanged."""
    b, c, h, w = x.shape
    if h < 3 or w < 3:
        return x
    xi = x.to(torch.int32)
    box = sum(xi[:, :, dy:dy + h - 2, dx:dx + w - 2] for dy in range(3) for dx in range(3))
    total = box + 4 * xi[:, :, 1:-1, 1:-1]  # 13 x the weighted mean, an integer
    out = x.clone()
    out[:, :, 1:-1, 1:-1] = ((2 * total + 13) // 26).to(torch.uint8)  # round(total / 13), never a tie
    return out


def _lut(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Apply a per-image, per-channel lookup table ``table[b, c, 256]``."""
    b, c, h, w = x.shape
    return table.gather(2, x.reshape(b, c, h * w).long()).view(b, c, h, w).to(torch.uint8)


def _autocontrast(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    flat = x.reshape(b, c, h * w)
    lo = flat.amin(2).to(torch.float64)
    hi = flat.amax(2).to(torch.float64)
    spread = hi > lo
    # tensor / tensor is IEEE division; a Python scalar over a tensor multiplies by a reciprocal
    # and can move a level across an integer (PIL maps 250 of 2..250 to 255, the reciprocal to 254)
    scale = torch.where(spread, torch.full_like(hi, 255.0) / torch.where(spread, hi - lo, torch.ones_like(hi)),
                        torch.ones_like(hi))
    offset = torch.where(spread, -lo * scale, torch.zeros_like(lo))
    levels = torch.arange(256, device=x.device, dtype=torch.float64)
    table = (levels * scale.unsqueeze(2) + offset.unsqueeze(2)).trunc().clamp(0, 255).long()
    return _lut(x, table)


def _equalize(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    flat = x.reshape(b * c, h * w).long()
    hist = torch.zeros((b * c, 256), dtype=torch.int64, device=x.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat))
    levels = torch.arange(256, device=x.device)
    last = torch.where(hist > 0, levels, torch.full_like(levels, -1)).amax(1)  # highest occupied level
    step = (hist.sum(1) - hist.gather(1, last.view(-1, 1)).squeeze(1)) // 255
    # step == 0 also covers a single occupied level: those channels stay unchanged
    before = hist.cumsum(1) - hist
    table = ((step // 2).unsqueeze(1) + before) // step.clamp(min=1).unsqueeze(1)
    table = torch.where((step > 0).unsqueeze(1), table.clamp(max=255), levels.expand(b * c, 256))
    return _lut(x, table.view(b, c, 256))


def apply_op(op: str, x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Apply one AutoAugment operation to every image of ``x``.

    Args:
        op: one of :data:`OPS`.
        x: uint8 ``[b, C, H, W]``.
        value: float64 ``[b]``, the signed magnitude per image (enhance ops: the factor minus 1;
            posterize: bits; solarize: threshold; ignored by autocontrast, equalize, invert).

    Returns:
        uint8 ``[b, C, H, W]``.
    """
    if op in ("shearX", "shearY", "translateX", "translateY", "rotate"):
        return _geometric(op, x, value)
    if op == "invert":
        return 255 - x
    if op == "posterize":
        shift = (8 - value.to(x.device)).long().view(-1, 1, 1, 1)
        mask = ((255 >> shift) << shift).to(torch.uint8)  # keeps the top `bits` bits
        return x & mask
    if op == "solarize":
        threshold = value.to(x.device).view(-1, 1, 1, 1)
        return torch.where(x.to(torch.float64) < threshold, x, 255 - x)
    if op == "autocontrast":
        return _autocontrast(x)
    if op == "equalize":
        return _equalize(x)
    factor = 1 + value
    if op == "brightness":
        return _blend(torch.zeros_like(x), x, factor)
    if op == "color":
        return _blend(_grey(x).expand_as(x), x, factor)
    if op == "contrast":
        grey = _grey(x).to(torch.int64)
        n = grey[0].numel()
        level = (2 * grey.sum((1, 2, 3)) + n) // (2 * n)  # int(mean + 0.5), exactly
        degenerate = level.view(-1, 1, 1, 1).expand_as(x)
        return _blend(degenerate, x, factor)
    if op == "sharpness":
        return _blend(_smooth(x), x, factor)
    raise ValueError(f"apply_op: op must be one of {', '.join(OPS)}; got {op!r}")


_OP_ID = {op: k for k, op in enumerate(OPS)}
_TABLE_OP = torch.tensor([[_OP_ID[o] for o, _, _ in sub] for sub in CIFAR10_POLICY])          # [25, 2]
_TABLE_P = torch.tensor([[p for _, p, _ in sub] for sub in CIFAR10_POLICY], dtype=torch.float64)
_TABLE_VALUE = torch.tensor([[magnitude(o, m) for o, _, m in sub] for sub in CIFAR10_POLICY], dtype=torch.float64)
_TABLE_SIGNED = torch.tensor([[o in _SIGNED for o, _, _ in sub] for sub in CIFAR10_POLICY])


def autoaugment_cifar10(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """AutoAugment with the CIFAR-10 policy, vectorised over the batch.

    Per image: a sub-policy uniformly among the 25; its first op with probability p1 at magnitude
    m1, then its second with p2 at m2; shear, translate and the enhance ops take a random sign.

    Args:
        images: uint8 ``[B, C, H, W]`` on any device.
        generator: the source of every random choice (drawn on its device, then moved).

    Returns:
        uint8 ``[B, C, H, W]``, a new tensor.

    Spec: experiments.md §2.1.
    """
    b = images.shape[0]
    gdev = generator.device
    sub = torch.randint(0, len(CIFAR10_POLICY), (b,), generator=generator, device=gdev).cpu()
    draws = []
    for _ in range(2):
        u = torch.rand(b, generator=generator, device=gdev, dtype=torch.float64).cpu()
        sign = torch.randint(0, 2, (b,), generator=generator, device=gdev).cpu() * 2 - 1
        draws.append((u, sign))
    out = images.clone()
    for stage, (u, sign) in enumerate(draws):
        op_id = _TABLE_OP[sub, stage]
        apply = u < _TABLE_P[sub, stage]
        value = _TABLE_VALUE[sub, stage] * torch.where(_TABLE_SIGNED[sub, stage], sign, 1).to(torch.float64)
        for k, op in enumerate(OPS):
            rows = torch.nonzero(apply & (op_id == k)).flatten()
            if rows.numel():
                idx = rows.to(images.device)
                out[idx] = apply_op(op, out[idx], value[rows])
    return out
