"""Time one training iteration of the OFFICIAL ConSinGAN PyTorch code on the CPU.

This harness contains no official code.  It imports ConSinGAN from a checkout
given on the command line (github.com/tohinz/ConSinGAN) and calls its own
``train_single_scale`` (ConSinGAN/training_generation.py) unchanged, for a few
iterations at one stage.  Per-iteration wall time is read off by replacing
``tqdm`` (the iterable that function loops over) with a thin wrapper that
stamps ``time.perf_counter()`` each time the next iteration starts.

Only logging/visualisation dependencies that the generation loop does not need
for its arithmetic are replaced by no-op stand-ins (matplotlib, tensorboard's
SummaryWriter, torchvision.utils.make_grid, albumentations - the latter is
only used by the harmonisation/editing augmentation and its 0.4.x API no
longer exists).  The official loop logs (``.item()``, image saving,
``generate_samples``) only at iterations 0 and niter-1; both are excluded from
the timed window: iterations [0, warmup) warm up, iterations
[warmup, warmup+iters) are timed, and one extra final iteration (the logging
one) is run but not timed.

Run with a separate venv that has torch, e.g.::

    /tmp/torchvenv/bin/python benchmarks/consingan_official_timing.py \
        --official_dir /tmp/ConSinGAN_official \
        --out /tmp/consingan_official_timing.json

It needs torch, numpy, scipy, scikit-image, imageio and python-dateutil.
"""

import argparse
import importlib
import importlib.machinery
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import types

import numpy as np
import torch

# Stage sizes (H, W) our compare_gan2 schedule gives for scikit-image's
# rocket.jpg at max_size 128, min_size 25, 6 stages.
DEFAULT_SHAPES = [(25, 38), (29, 43), (35, 51), (44, 66), (68, 100), (86, 128)]

_ITER_STAMPS = []


class _TimingTqdm:
    """Stand-in for tqdm.tqdm: iterates, stamping the start of each step."""

    def __init__(self, iterable=None, *args, **kwargs):
        self._it = iterable

    def __iter__(self):
        for x in self._it:
            _ITER_STAMPS.append(time.perf_counter())
            yield x
        _ITER_STAMPS.append(time.perf_counter())

    def set_description(self, *args, **kwargs):
        pass


class _NoOpWriter:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _install_stubs():
    """No-op stand-ins for logging-only imports of the official modules."""

    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        for k, v in attrs.items():
            setattr(m, k, v)
        sys.modules[name] = m
        return m

    noop = lambda *a, **k: None  # noqa: E731

    # tqdm -> timing wrapper (the official loop is `for iter in tqdm(range(niter))`).
    module("tqdm", tqdm=_TimingTqdm)
    # tensorboard SummaryWriter (logging only).
    module("torch.utils.tensorboard", SummaryWriter=_NoOpWriter)
    # torchvision.utils.make_grid (used only inside generate_samples for tensorboard).
    tv = module("torchvision")
    tv.utils = module("torchvision.utils", make_grid=lambda t, *a, **k: t)
    # matplotlib (save_image -> plt.imsave, only at logging iterations).
    mpl = module("matplotlib", use=noop)
    mpl.pyplot = module("matplotlib.pyplot", imsave=noop, imshow=noop,
                        savefig=noop, close=noop, figure=noop, subplots=noop)
    mpl.patches = module("matplotlib.patches")
    # albumentations: only used by functions.Augment (harmonisation/editing).
    alb = module("albumentations")
    for n in ["HueSaturationValue", "IAAAdditiveGaussianNoise", "GaussNoise",
              "OneOf", "Compose", "MultiplicativeNoise", "ToSepia",
              "ChannelDropout", "ChannelShuffle", "Cutout", "InvertImg"]:
        setattr(alb, n, noop)
    try:
        import dateutil.tz  # noqa: F401
    except ImportError:
        import datetime
        d = module("dateutil")
        d.tz = module("dateutil.tz", tzlocal=lambda: datetime.timezone.utc)


def _other_busy_processes():
    """Other processes whose command line mentions compare_gan2.singan or pytest."""
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if "compare_gan2.singan" in cmd or "pytest" in cmd:
            found.append("%s %s" % (pid, cmd[:200]))
    return found


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _make_reals(shapes, opt, functions, imresize_mod, source):
    """Real-image pyramid as 1x3xHxW tensors in [-1, 1]."""
    if source == "random":
        g = torch.Generator().manual_seed(0)
        return [torch.rand(1, 3, h, w, generator=g) * 2 - 1 for h, w in shapes]
    import skimage.data
    x = skimage.data.rocket()[:, :, :3]
    full = functions.np2torch(x, opt)  # official conversion (uint8 -> [-1, 1])
    reals = []
    for h, w in shapes:
        r = imresize_mod.imresize_to_shape(full, [h, w], opt)  # official resize
        if tuple(r.shape[2:]) != (h, w):
            r = torch.nn.functional.interpolate(
                full, size=(h, w), mode="bicubic", align_corners=False,
                antialias=True).clamp(-1, 1)
        reals.append(r.contiguous())
    return reals


def time_stage(depth, reals, opt, tg, functions, warmup, iters, workdir):
    """Run the official train_single_scale at `depth` for warmup+iters+1 iters."""
    opt.niter = warmup + iters + 1
    torch.manual_seed(opt.manualSeed + depth)

    netG = tg.init_G(opt)
    for _ in range(depth):  # official: one init_next_stage per stage > 0
        netG.init_next_stage()
    netD = tg.init_D(opt)

    reals_shapes = [r.shape for r in reals]
    # State that earlier stages would have left behind (values don't affect cost).
    fixed_noise = [reals[0]]
    for d in range(1, depth):
        fixed_noise.append(functions.generate_noise(
            [opt.nfc, reals_shapes[d][2] + opt.num_layer * 2,
             reals_shapes[d][3] + opt.num_layer * 2], device=opt.device).detach())
    noise_amp = [1] + [0.1] * (depth - 1) if depth > 0 else []

    opt.outf = os.path.join(workdir, "stage%d" % depth)
    os.makedirs(opt.outf, exist_ok=True)

    del _ITER_STAMPS[:]
    t0 = time.perf_counter()
    tg.train_single_scale(netD, netG, reals, fixed_noise, noise_amp, opt, depth,
                          _NoOpWriter())
    t1 = time.perf_counter()
    stamps = list(_ITER_STAMPS)
    assert len(stamps) == opt.niter + 1, (len(stamps), opt.niter)
    per_iter = [b - a for a, b in zip(stamps[:-1], stamps[1:])]
    timed = per_iter[warmup:warmup + iters]

    # Parameters in the official optimizerG groups: last train_depth blocks,
    # head only while depth < train_depth, and the tail.
    n_train_g = sum(p.numel() for p in netG.body[-opt.train_depth:].parameters())
    if depth - opt.train_depth < 0:
        n_train_g += sum(p.numel() for p in netG.head.parameters())
    n_train_g += sum(p.numel() for p in netG.tail.parameters())
    return {
        "stage_index_k": depth,
        "num_G_stages": len(netG.body),
        "image_hw": [int(reals_shapes[depth][2]), int(reals_shapes[depth][3])],
        "median_s_per_iter": statistics.median(timed),
        "mean_s_per_iter": statistics.mean(timed),
        "min_s_per_iter": min(timed),
        "max_s_per_iter": max(timed),
        "stdev_s_per_iter": statistics.stdev(timed) if len(timed) > 1 else 0.0,
        "timed_iters": len(timed),
        "warmup_iters": warmup,
        "timed_iter_seconds": timed,
        "warmup_iter_seconds": per_iter[:warmup],
        "untimed_final_logging_iter_seconds": per_iter[warmup + iters:],
        "train_single_scale_total_seconds": t1 - t0,
        "G_params_in_optimiser": int(n_train_g),
        "D_params": int(sum(p.numel() for p in netD.parameters())),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official_dir", required=True,
                    help="checkout of github.com/tohinz/ConSinGAN (contains ConSinGAN/)")
    ap.add_argument("--out", default="/tmp/consingan_official_timing.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--interop_threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--stages", default="5,4", help="comma-separated stage indices k")
    ap.add_argument("--real", choices=["rocket", "random"], default="rocket")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.interop_threads)

    # torch.optim imports torch._dynamo lazily, which inspects sys.modules;
    # import it before the stand-ins go in.
    importlib.import_module("torch._dynamo")
    _install_stubs()
    sys.path.insert(0, os.path.abspath(args.official_dir))
    from ConSinGAN.config import get_arguments
    import ConSinGAN.functions as functions
    import ConSinGAN.imresize as imresize_mod
    import ConSinGAN.training_generation as tg

    # Official parser; main_train.py adds these extra options itself (same defaults).
    parser = get_arguments()
    parser.add_argument("--input_name", default="rocket.jpg")
    parser.add_argument("--naive_img", default="")
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--train_mode", default="generation")
    parser.add_argument("--lr_scale", type=float, default=0.1)
    parser.add_argument("--train_stages", type=int, default=6)
    parser.add_argument("--fine_tune", action="store_true", default=0)
    parser.add_argument("--model_dir", default="")
    opt = parser.parse_args(["--not_cuda", "--max_size", "128", "--min_size", "25",
                             "--manualSeed", str(args.seed)])
    opt = functions.post_config(opt)
    opt.stop_scale = opt.train_stages - 1

    reals = _make_reals(DEFAULT_SHAPES, opt, functions, imresize_mod, args.real)

    workdir = tempfile.mkdtemp(prefix="consingan_official_timing_")
    os.chdir(workdir)  # generate_samples makes TrainedModels/... relative to cwd

    busy_before = _other_busy_processes()
    load_before = os.getloadavg()
    results = []
    for k in [int(s) for s in args.stages.split(",")]:
        r = time_stage(k, reals[:k + 1], opt, tg, functions, args.warmup,
                       args.iters, workdir)
        print("stage k=%d %s: median %.4f s, mean %.4f s" % (
            k, r["image_hw"], r["median_s_per_iter"], r["mean_s_per_iter"]),
            file=sys.stderr, flush=True)
        results.append(r)

    opt_keys = ["nfc", "ker_size", "num_layer", "padd_size", "train_depth", "lr_scale",
                "lambda_grad", "alpha", "Dsteps", "Gsteps", "activation", "lrelu_alpha",
                "batch_norm", "train_mode", "lr_g", "lr_d", "beta1", "noise_amp",
                "not_cuda", "manualSeed"]
    out = {
        "what": "one training iteration of official ConSinGAN train_single_scale "
                "(3 D steps + G update with 3 optimizerG.step), CPU",
        "official_repo": "github.com/tohinz/ConSinGAN",
        "official_dir": os.path.abspath(args.official_dir),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "cpu_model": _cpu_model(),
        "os_cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "real_image": args.real,
        "stage_shapes_hw": [list(s) for s in DEFAULT_SHAPES],
        "opt": {k: (str(getattr(opt, k)) if k == "device" else getattr(opt, k))
                for k in opt_keys},
        "device": str(opt.device),
        "stages": results,
        "real_resize": "official imresize.imresize_to_shape from full rocket.jpg"
                       if args.real == "rocket" else "uniform random in [-1, 1]",
        "other_busy_processes_at_start": busy_before,
        "other_busy_processes_at_end": _other_busy_processes(),
        "loadavg_at_start": load_before,
        "loadavg_at_end": os.getloadavg(),
        "note": args.note,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
