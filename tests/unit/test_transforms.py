"""Batched preprocessing: determinism per generator state, exact draws, shapes, statistics, values.

The reference for each random stage is recomputed here, image by image in plain Python, from a
copy of the generator and the draw order documented in xbarsim.data.transforms. Statistical
checks use 5-sigma tolerances (binomial or uniform standard deviations stated inline).

Spec: experiments.md §1.1, §2.1.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xbarsim.data as data
from xbarsim.data import autoaugment as aa
from xbarsim.data.transforms import MNIST_MEAN, MNIST_STD


def _images(b, c=3, h=32, w=32, seed=0):
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _copy(g):
    out = torch.Generator()
    out.set_state(g.get_state())
    return out


# ----------------------------------------------------------------------------- determinism

def test_same_generator_state_gives_the_same_batch_and_resumes():
    x = _images(64)
    prep = data.Preprocess.for_dataset("cifar10", train=True)
    assert torch.equal(prep(x, _gen(5)), prep(x, _gen(5)))
    assert not torch.equal(prep(x, _gen(5)), prep(x, _gen(6)))
    g = _gen(1)
    prep(x, g)
    state = g.get_state()
    second = prep(x, g)
    g.set_state(state)  # resume from a checkpointed generator state
    assert torch.equal(prep(x, g), second)


def test_draw_count_does_not_depend_on_the_images():
    prep = data.Preprocess.for_dataset("cifar100", train=True)
    g1, g2 = _gen(2), _gen(2)
    prep(_images(32, seed=1), g1)
    prep(torch.zeros((32, 3, 32, 32), dtype=torch.uint8), g2)
    assert torch.equal(g1.get_state(), g2.get_state())


@pytest.mark.parametrize("name, train, shape", [
    ("mnist", True, (8, 1, 28, 28)), ("fashion-mnist-mini", False, (8, 1, 28, 28)),
    ("cifar10", True, (8, 3, 32, 32)), ("cifar100", False, (8, 3, 32, 32))])
def test_shapes_and_dtypes(name, train, shape):
    x = _images(*shape)
    out = data.Preprocess.for_dataset(name, train=train)(x, _gen(0))
    assert out.shape == shape and out.dtype == torch.float32 and out.device == x.device


# ----------------------------------------------------------------------------- normalisation

def test_normalisation_values():
    x = torch.tensor([0, 1, 128, 255], dtype=torch.uint8).view(1, 1, 2, 2)
    code = data.Preprocess.for_dataset("fashion-mnist", train=True)
    assert not code.is_random and torch.equal(code(x), x.float() / 255)  # ToTensor only [C]
    text = data.Preprocess.for_dataset("mnist", train=False, variant="text")
    assert torch.equal(text(x), (x.float() / 255 - MNIST_MEAN) / MNIST_STD)
    assert data.Preprocess.for_dataset("fashion-mnist", train=True, variant="text") == code  # §1.1: MNIST only
    c = torch.tensor([0, 255, 51, 204], dtype=torch.uint8).view(1, 4, 1, 1).expand(1, 4, 2, 2)[:, :3]
    out = data.Preprocess.for_dataset("cifar10", train=False)(c)
    assert out[0, :, 0, 0].tolist() == [-1.0, 1.0, pytest.approx(51 / 255 / 0.5 - 1, abs=1e-6)]
    stats = ((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))
    text = data.Preprocess.for_dataset("cifar10", train=False, variant="text", channel_stats=stats)
    m, s = torch.tensor(stats[0]).view(1, 3, 1, 1), torch.tensor(stats[1]).view(1, 3, 1, 1)
    assert torch.equal(text(c), (c.float().div(255) - m) / s)


def test_text_variant_with_training_statistics():
    train = data.ImageDataset(images=_images(50), labels=torch.zeros(50, dtype=torch.int64), classes=("a",),
                              name="cifar10", split="train")
    prep = data.Preprocess.for_dataset("cifar10", train=False, variant="text", channel_stats=train.channel_stats())
    out = prep(train.images).double()
    assert out.mean((0, 2, 3)).abs().max() < 1e-5 and (out.std((0, 2, 3), unbiased=False) - 1).abs().max() < 1e-5


# ----------------------------------------------------------------------------- random crop, Cutout, flip

def test_random_crop_matches_its_draws_and_covers_every_offset():
    x = _images(2000, c=2, h=8, w=8)
    g = _gen(3)
    ref = _copy(g)
    out = data.random_crop(x, g, padding=4)
    top = torch.randint(0, 9, (2000,), generator=ref)
    left = torch.randint(0, 9, (2000,), generator=ref)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for b in range(0, 2000, 97):
        t, l = int(top[b]), int(left[b])
        assert torch.equal(out[b], padded[b, :, t:t + 8, l:l + 8])
    assert len(set(zip(top.tolist(), left.tolist()))) == 81  # P(an offset missing) < 81 e^-24.7


def test_cutout_exact_boxes_and_statistics():
    b = 4000
    x = torch.full((b, 3, 32, 32), 255, dtype=torch.uint8)  # the fill is < 255, so the box is visible
    g = _gen(7)
    ref = _copy(g)
    out = data.cutout(x, g)
    u = [torch.rand(b, generator=ref, dtype=torch.float64).tolist() for _ in range(5)]
    fill = torch.randint(0, 255, (b,), generator=ref).tolist()
    erased = out != 255
    assert torch.equal(erased[:, 0], erased[:, 1]) and torch.equal(erased[:, 0], erased[:, 2])  # all channels
    applied, areas = 0, []
    for k in range(b):
        apply, s, r = u[0][k] < 0.5, 0.02 + 0.38 * u[1][k], 0.4 + 2.1 * u[2][k]
        w, h = int(math.sqrt(s * 1024 / r)), int(math.sqrt(s * 1024 * r))
        top, left = int(u[3][k] * (32 - h + 1)), int(u[4][k] * (32 - w + 1))
        expected = x[k].clone()
        if apply:
            expected[:, top:top + h, left:left + w] = fill[k]
            applied += 1
            areas.append(h * w / 1024)
            assert top + h <= 32 and left + w <= 32 and h * w <= s * 1024
        assert torch.equal(out[k], expected), k
    assert abs(applied / b - 0.5) < 5 * math.sqrt(0.25 / b)  # binomial, 5 sigma
    # the erased area fraction is s shrunk by the floors; E[s] = 0.21
    assert 0.15 < np.mean(areas) < 0.21
    fills = torch.tensor(fill)[torch.tensor(u[0]) < 0.5].double()
    assert fills.max() <= 254 and abs(fills.mean() - 127) < 5 * 73.6 / math.sqrt(applied)  # U{0..254}: sd 73.6


def test_random_hflip_matches_its_draws():
    x = _images(3000, c=1, h=2, w=5)
    g = _gen(11)
    ref = _copy(g)
    out = data.random_hflip(x, g)
    flip = torch.rand(3000, generator=ref, dtype=torch.float64) < 0.5
    assert torch.equal(out[flip], x[flip].flip(-1)) and torch.equal(out[~flip], x[~flip])
    assert abs(flip.double().mean() - 0.5) < 5 * math.sqrt(0.25 / 3000)


def test_pipeline_order_is_crop_cutout_flip_autoaugment_normalize():
    x = _images(16)
    g = _gen(4)
    ref = _copy(g)
    out = data.Preprocess.for_dataset("cifar10", train=True)(x, g)
    y = data.random_crop(x, ref, padding=4)
    y = data.cutout(y, ref)
    y = data.random_hflip(y, ref)
    y = data.autoaugment_cifar10(y, ref)
    assert torch.equal(out, data.normalize(y, (0.5,), (0.5,)))
    no_aa = data.Preprocess.for_dataset("cifar10", train=True, autoaugment=False)
    assert not no_aa.autoaugment and no_aa.cutout and no_aa.hflip and no_aa.crop_padding == 4


# ----------------------------------------------------------------------------- AutoAugment

def test_policy_and_magnitude_tables_follow_the_spec():
    assert len(data.CIFAR10_POLICY) == 25
    assert data.CIFAR10_POLICY[0] == (("invert", 0.1, 7), ("contrast", 0.2, 6))
    assert data.CIFAR10_POLICY[24] == (("translateY", 0.7, 9), ("autocontrast", 0.9, 1))
    assert [aa.magnitude("posterize", m) for m in range(10)] == [8, 8, 7, 7, 6, 6, 5, 5, 4, 4]
    assert aa.magnitude("solarize", 0) == 256 and aa.magnitude("solarize", 9) == 0
    assert aa.magnitude("shearX", 9) == 0.3 and aa.magnitude("translateY", 9) == 150 / 331
    assert aa.magnitude("rotate", 9) == 30 and aa.magnitude("color", 9) == 0.9
    assert aa.magnitude("rotate", 3) == pytest.approx(10) and aa.magnitude("equalize", 5) == 0


def test_autoaugment_batched_equals_image_by_image():
    x = _images(300)
    g = _gen(9)
    ref = _copy(g)
    out = data.autoaugment_cifar10(x, g)
    sub = torch.randint(0, 25, (300,), generator=ref).tolist()
    stages = []
    for _ in range(2):
        u = torch.rand(300, generator=ref, dtype=torch.float64).tolist()
        sign = (torch.randint(0, 2, (300,), generator=ref) * 2 - 1).tolist()
        stages.append((u, sign))
    changed = 0
    for k in range(300):
        y = x[k:k + 1]
        for stage, (u, sign) in enumerate(stages):
            op, p, m = data.CIFAR10_POLICY[sub[k]][stage]
            if u[k] < p:
                value = aa.magnitude(op, m) * (sign[k] if op in aa._SIGNED else 1)
                y = aa.apply_op(op, y, torch.tensor([value], dtype=torch.float64))
        assert torch.equal(out[k:k + 1], y), k
        changed += not torch.equal(y, x[k:k + 1])
    assert 150 < changed < 300


def test_autoaugment_ops_by_hand():
    x = torch.tensor([[[[0, 10, 100], [128, 200, 255]]]], dtype=torch.uint8)  # [1, 1, 2, 3]
    one = lambda op, v=0.0: aa.apply_op(op, x, torch.tensor([v], dtype=torch.float64))[0, 0].tolist()  # noqa: E731
    assert one("invert") == [[255, 245, 155], [127, 55, 0]]
    assert one("posterize", 4) == [[0, 0, 96], [128, 192, 240]]
    assert one("solarize", 128) == [[0, 10, 100], [127, 55, 0]]
    assert one("autocontrast") == [[0, 10, 100], [128, 200, 255]]  # already spans 0..255
    assert one("brightness", -0.5) == [[0, 5, 50], [64, 100, 127]]
    assert one("contrast", -1.0) == [[116] * 3] * 2  # the rounded mean (693 / 6 = 115.5 -> 116)
    y = torch.tensor([[[[50, 60], [60, 70]]]], dtype=torch.uint8)
    assert aa.apply_op("autocontrast", y, torch.zeros(1, dtype=torch.float64))[0, 0].tolist() == [[0, 127], [127, 255]]
    assert torch.equal(aa.apply_op("equalize", y, torch.zeros(1, dtype=torch.float64)), y)  # too few pixels: unchanged
    halves = torch.tensor([50, 60], dtype=torch.uint8).repeat_interleave(256).view(1, 1, 16, 32)
    out = aa.apply_op("equalize", halves, torch.zeros(1, dtype=torch.float64))
    assert torch.equal(out, (halves > 50).to(torch.uint8) * 255)  # step 1: 50 -> 0, 60 -> 256 clipped to 255
    for op in ("shearX", "shearY", "translateX", "translateY", "rotate"):
        z = _images(2)
        assert torch.equal(aa.apply_op(op, z, torch.zeros(2, dtype=torch.float64)), z)  # magnitude 0: identity
    z = _images(1)
    shifted = aa.apply_op("translateX", z, torch.tensor([4 / 32], dtype=torch.float64))
    assert torch.equal(shifted[..., :28], z[..., 4:]) and (shifted[..., 28:] == 128).all()


def test_autoaugment_matches_pil():
    """Every op at every magnitude and sign against the reference code's PIL calls (when Pillow is
    installed; it is not a dependency)."""
    pil = pytest.importorskip("PIL.Image")
    from PIL import ImageEnhance, ImageOps

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)]
    yy, xx = np.mgrid[0:32, 0:32]
    arrays += [np.stack([(xx * 8 + k) % 256, (yy * 7 + k) % 256, (xx + yy) * 4 % 256], -1).astype(np.uint8) // (k + 1)
               for k in range(6)]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    fill = (128, 128, 128)

    def reference(op, img, v):
        size = img.size
        if op in ("shearX", "shearY"):
            coeffs = (1, v, 0, 0, 1, 0) if op == "shearX" else (1, 0, 0, v, 1, 0)
            return img.transform(size, pil.AFFINE, coeffs, pil.BICUBIC, fillcolor=fill)
        if op in ("translateX", "translateY"):
            coeffs = (1, 0, v * size[0], 0, 1, 0) if op == "translateX" else (1, 0, 0, 0, 1, v * size[1])
            return img.transform(size, pil.AFFINE, coeffs, fillcolor=fill)
        if op == "rotate":
            rot = img.convert("RGBA").rotate(v)
            return pil.composite(rot, pil.new("RGBA", rot.size, (128,) * 4), rot).convert(img.mode)
        enhance = {"color": ImageEnhance.Color, "contrast": ImageEnhance.Contrast,
                   "sharpness": ImageEnhance.Sharpness, "brightness": ImageEnhance.Brightness}
        if op in enhance:
            return enhance[op](img).enhance(1 + v)
        if op == "posterize":
            return ImageOps.posterize(img, int(v))
        if op == "solarize":
            return ImageOps.solarize(img, v)
        return {"autocontrast": ImageOps.autocontrast, "equalize": ImageOps.equalize, "invert": ImageOps.invert}[op](img)

    for op in aa.OPS:
        for m in range(10):
            for sign in ((1, -1) if op in aa._SIGNED else (1,)):
                v = aa.magnitude(op, m) * sign
                ours = aa.apply_op(op, x, torch.full((len(arrays),), v, dtype=torch.float64)).permute(0, 2, 3, 1).numpy()
                theirs = np.stack([np.asarray(reference(op, pil.fromarray(a), v)) for a in arrays])
                assert np.array_equal(ours, theirs), (op, m, sign)


# ----------------------------------------------------------------------------- argument checks and devices

def test_argument_checks():
    prep = data.Preprocess.for_dataset("cifar10", train=True)
    with pytest.raises(TypeError, match="Preprocess: generator must be a torch.Generator; got NoneType"):
        prep(_images(2))
    with pytest.raises(TypeError, match="Preprocess: images must be a uint8 tensor; got torch.float32"):
        prep(_images(2).float(), _gen(0))
    with pytest.raises(ValueError, match=r"Preprocess: images must have shape \[B, C, H, W\]; got \(3, 32, 32\)"):
        prep(_images(1)[0], _gen(0))
    with pytest.raises(ValueError, match="channel_stats must be given for CIFAR with variant='text'"):
        data.Preprocess.for_dataset("cifar10", train=True, variant="text")
    with pytest.raises(ValueError, match="variant must be 'code' or 'text'; got 'paper'"):
        data.Preprocess.for_dataset("mnist", train=True, variant="paper")
    with pytest.raises(ValueError, match="Preprocess: std must be > 0"):
        data.Preprocess(std=(0.0,))
    with pytest.raises(ValueError, match="Preprocess: crop_padding must be an int >= 0; got -1"):
        data.Preprocess(crop_padding=-1)
    with pytest.raises(ValueError, match=r"normalize: mean and std must have 1 or C=3 values; got 2 and 1"):
        data.Preprocess(mean=(0.1, 0.2))(_images(1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (not a CUDA build of xbarsim)")
def test_cuda_batches_equal_cpu_batches_for_a_cpu_generator():
    x = _images(256)
    prep = data.Preprocess.for_dataset("cifar10", train=True)
    cpu = prep(x, _gen(12))
    gpu = prep(x.cuda(), _gen(12))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
