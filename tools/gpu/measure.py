#!/usr/bin/env python3
"""Measure one CUDA GPU for `flopcast calibrate`.

Runs on any machine with PyTorch and a CUDA (or ROCm) GPU, in under five
minutes (about one with --quick), and writes one JSON file:

  env          device name, SM count, memory, driver, torch and CUDA
               versions, and copy_tbps (device-to-device copy, bytes read
               plus written, TB/s)
  gemm         bf16 (and fp8 where the GPU and PyTorch support it) matrix
               products (m,k)@(k,n) at transformer shapes: QKV, attention
               out (proj), MLP up (fc1) and down (fc2), at several token
               counts m and hidden sizes; {m,n,k,tag,dtype,s,tflops}
  attention    fused causal attention (SDPA) forward and forward+backward
               by sequence length and head dim;
               {b,heads,seq,head_dim,fwd_s,fwdbwd_s,fwd_tflops,fwdbwd_tflops}
  elementwise  layer norm, RMS norm, GELU, SiLU, residual add as achieved
               GB/s; {op,dtype,shape,bytes,s,gbps}
  steps        whole training steps of small GPT- and Llama-style models
               with the pytorch-amp recipe (fp32 params and grads,
               torch.autocast bf16, fused AdamW, SDPA), with and without
               full activation recompute; {name,model,seq_len,micro_batch,
               recipe,precision,recompute,step_s,peak_alloc_gib,params};
               with --profile, one step of the larger models traced by the
               PyTorch profiler: kernel seconds by kind
  sustained    (only when named in --sections) 8192^3 bf16 and fp8 products
               back to back for a minute or more, with nvidia-smi's clock,
               power and temperature: the rate the chip holds at its power
               limit, against the gemm section's short bursts

The env, gemm and attention sections have the schema of
calibrate/testdata/h100-microbench.json. Times are CUDA-event times, the
median of repeats after warm-up, on random data (not zeros, which some
GPUs run faster and cooler).

Usage:
  python3 tools/gpu/measure.py --out h100.json [--quick]
  flopcast calibrate --from h100.json --out h100.yaml

Each section is run on its own: one that fails is recorded in notes and the
others still run. The file is rewritten after every section, so an
interrupted run leaves what it measured so far.
"""

import argparse
import datetime
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback

TOOL = "tools/gpu/measure.py 1"
DEVICE = "cuda"  # a CPU smoke test of this script may swap it
GIB = float(1 << 30)

_T0 = time.monotonic()


def log(msg):
    print("[measure %6.1fs] %s" % (time.monotonic() - _T0, msg), file=sys.stderr, flush=True)


def elapsed():
    return time.monotonic() - _T0


def finite(x):
    """A float that JSON can hold, or None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def clean(v):
    """Replace non-finite floats by None, recursively."""
    if isinstance(v, float):
        return finite(v)
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    return v


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(clean(doc), f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


class Timer:
    """CUDA-event timing: warm-up, then the median of repeats, each repeat
    running the function enough times to last about target_ms so that
    short kernels are not dominated by event resolution."""

    def __init__(self, torch, repeats, target_ms):
        self.torch = torch
        self.repeats = repeats
        self.target_ms = target_ms

    def __call__(self, fn, warmup=3, max_inner=1000):
        torch = self.torch
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        one_ms = max(start.elapsed_time(end), 1e-3)
        inner = max(1, min(max_inner, int(math.ceil(self.target_ms / one_ms))))
        times = []
        for _ in range(self.repeats):
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3 / inner)
        return statistics.median(times)


# ---------------------------------------------------------------- sections


def measure_env(torch):
    props = torch.cuda.get_device_properties(0)
    env = {
        "gpu": torch.cuda.get_device_name(0),
        "sms": props.multi_processor_count,
        "mem_gib": props.total_memory / GIB,
        "cc": "%d.%d" % (props.major, props.minor),
        "driver": driver_version(),
        "torch": torch.__version__,
        "cuda": cuda_version(torch),
    }
    try:
        v = torch.backends.cudnn.version()
        if v:
            env["cudnn"] = str(v)
    except Exception:
        pass
    return env


def cuda_version(torch):
    if torch.version.cuda:
        return torch.version.cuda
    hip = getattr(torch.version, "hip", None)
    return "hip " + hip if hip else "unknown"


def driver_version():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0].strip()
    except Exception:
        pass
    try:
        with open("/proc/driver/nvidia/version") as f:
            for word in f.readline().split():
                if word[:1].isdigit() and "." in word:
                    return word
    except Exception:
        pass
    return "unknown"


def spin_up(torch, seconds):
    """Run large GEMMs for a moment so clocks and power settle."""
    a = torch.randn(8192, 8192, device=DEVICE, dtype=torch.bfloat16)
    c = torch.empty_like(a)
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        for _ in range(10):
            torch.matmul(a, a, out=c)
        torch.cuda.synchronize()


def copy_bytes(quick):
    return (1 << 29) if quick else (1 << 30)  # per buffer: far past any L2


def measure_copy(torch, timer, quick):
    n = copy_bytes(quick)
    src = torch.randn(n // 2, device=DEVICE, dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    s = timer(lambda: dst.copy_(src))
    del src, dst
    return 2 * n / s / 1e12


def gemm_shapes(quick):
    hiddens = [2048, 4096, 8192] if quick else [1024, 2048, 4096, 8192]
    tokens = [4096, 16384] if quick else [2048, 4096, 16384]
    shapes = []
    for h in hiddens:
        for m in tokens:
            shapes += [
                (m, 3 * h, h, "qkv"),
                (m, h, h, "proj"),
                (m, 4 * h, h, "fc1"),
                (m, h, 4 * h, "fc2"),
            ]
    shapes.append((8192, 8192, 8192, "square"))
    return shapes


def gemm_point(m, n, k, tag, dtype, s):
    return {"m": m, "n": n, "k": k, "tag": tag, "dtype": dtype, "s": s,
            "tflops": 2.0 * m * n * k / s / 1e12}


def measure_gemm_bf16(torch, timer, quick, out):
    for m, n, k, tag in gemm_shapes(quick):
        try:
            a = torch.randn(m, k, device=DEVICE, dtype=torch.bfloat16)
            b = torch.randn(k, n, device=DEVICE, dtype=torch.bfloat16)
            c = torch.empty(m, n, device=DEVICE, dtype=torch.bfloat16)
            s = timer(lambda: torch.matmul(a, b, out=c))
            p = gemm_point(m, n, k, tag, "bf16", s)
            out.append(p)
            log("gemm bf16 %-6s %5dx%5dx%5d  %8.1f us  %6.1f TFLOPS" % (tag, m, n, k, s * 1e6, p["tflops"]))
        except Exception as e:  # one shape failing (OOM on a small GPU) must not end the section
            log("gemm bf16 %s %dx%dx%d failed: %s" % (tag, m, n, k, e))
        finally:
            a = b = c = None
    torch.cuda.empty_cache()


def fp8_support(torch):
    """None if fp8 GEMMs run here, else why not."""
    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        return "this PyTorch has no float8_e4m3fn / _scaled_mm"
    major, minor = torch.cuda.get_device_capability(0)
    if torch.version.cuda and (major, minor) < (8, 9):
        return "compute capability %d.%d has no fp8 tensor cores (needs 8.9+)" % (major, minor)
    try:
        a = torch.randn(64, 64, device=DEVICE).to(torch.float8_e4m3fn)
        b = torch.randn(64, 64, device=DEVICE).to(torch.float8_e4m3fn).t()
        one = torch.ones((), device=DEVICE, dtype=torch.float32)
        scaled_mm(torch, a, b, one)
        torch.cuda.synchronize()
    except Exception as e:
        return "torch._scaled_mm failed: %s" % first_line(e)
    return None


def first_line(e):
    s = str(e).strip()
    return "%s: %s" % (type(e).__name__, s.splitlines()[0]) if s else type(e).__name__


def scaled_mm(torch, a, b, one):
    r = torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    return r[0] if isinstance(r, tuple) else r  # PyTorch < 2.4 also returned amax


def measure_gemm_fp8(torch, timer, quick, out, notes):
    why = fp8_support(torch)
    if why:
        notes.append("fp8 gemm skipped: " + why)
        log("fp8 skipped: " + why)
        return
    shapes = [(8192, 8192, 8192, "square")]
    hs = [8192] if quick else [4096, 8192]
    for h in hs:
        shapes += [(16384, 4 * h, h, "fc1"), (16384, h, 4 * h, "fc2")]
    one = torch.ones((), device=DEVICE, dtype=torch.float32)
    for m, n, k, tag in shapes:
        try:
            a = torch.randn(m, k, device=DEVICE, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
            # _scaled_mm wants the second operand column-major.
            b = torch.randn(n, k, device=DEVICE, dtype=torch.bfloat16).to(torch.float8_e4m3fn).t()
            s = timer(lambda: scaled_mm(torch, a, b, one))
            p = gemm_point(m, n, k, tag, "fp8", s)
            out.append(p)
            log("gemm fp8  %-6s %5dx%5dx%5d  %8.1f us  %6.1f TFLOPS" % (tag, m, n, k, s * 1e6, p["tflops"]))
        except Exception as e:
            log("gemm fp8 %s %dx%dx%d failed: %s" % (tag, m, n, k, e))
        finally:
            a = b = None
    notes.append("fp8 gemm: torch._scaled_mm, e4m3 x e4m3 -> bf16, per-tensor scales, default (not fast) accumulation")
    torch.cuda.empty_cache()


def attention_shapes(quick):
    """(b, heads, seq, head_dim): 32768 tokens, 2048 wide, as in the H100 reference."""
    seqs = [1024, 4096, 16384] if quick else [512, 1024, 2048, 4096, 8192, 16384]
    dims = [128] if quick else [128, 64]
    return [(max(1, 32768 // s), 2048 // d, s, d) for d in dims for s in seqs]


def measure_attention(torch, timer, quick, out):
    F = torch.nn.functional
    for b, heads, s, d in attention_shapes(quick):
        try:
            q, k, v = (torch.randn(b, heads, s, d, device=DEVICE, dtype=torch.bfloat16, requires_grad=True)
                       for _ in range(3))
            g = torch.randn(b, heads, s, d, device=DEVICE, dtype=torch.bfloat16)

            def fwd():
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)

            def fwdbwd():
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                torch.autograd.grad(o, (q, k, v), g)

            tf = timer(fwd)
            tfb = timer(fwdbwd)
            flops = 4.0 * b * heads * s * s * d / 2
            out.append({"b": b, "heads": heads, "seq": s, "head_dim": d, "fwd_s": tf, "fwdbwd_s": tfb,
                        "fwd_tflops": flops / tf / 1e12, "fwdbwd_tflops": 3.5 * flops / tfb / 1e12})
            log("attention s=%5d d=%3d b=%3d h=%2d  fwd %8.1f us (%5.1f TFLOPS)  fwd+bwd %8.1f us" % (
                s, d, b, heads, tf * 1e6, flops / tf / 1e12, tfb * 1e6))
        except Exception as e:
            log("attention s=%d d=%d failed: %s" % (s, d, e))
        finally:
            q = k = v = g = None
    torch.cuda.empty_cache()


def elementwise_shape(quick):
    return (8192, 4096) if quick else (16384, 4096)


def measure_elementwise(torch, timer, quick, out):
    F = torch.nn.functional
    T, h = elementwise_shape(quick)
    bf16, fp32 = torch.bfloat16, torch.float32

    def tensors(dtype, n=1):
        return [torch.randn(T, h, device=DEVICE, dtype=dtype) for _ in range(n)]

    w = torch.randn(h, device=DEVICE, dtype=bf16)
    bias = torch.randn(h, device=DEVICE, dtype=bf16)
    w32, bias32 = w.float(), bias.float()

    cases = []
    x, = tensors(bf16)
    cases.append(("layer_norm", "bf16", lambda: F.layer_norm(x, (h,), w, bias), 2 * x.numel() * 2))
    x32, = tensors(fp32)
    # Autocast runs layer norm in fp32: the eager pytorch-amp recipe pays this.
    cases.append(("layer_norm", "fp32", lambda: F.layer_norm(x32, (h,), w32, bias32), 2 * x32.numel() * 4))
    if hasattr(F, "rms_norm"):
        cases.append(("rms_norm", "bf16", lambda: F.rms_norm(x, (h,), w), 2 * x.numel() * 2))
    cases.append(("gelu", "bf16", lambda: F.gelu(x), 2 * x.numel() * 2))
    cases.append(("silu", "bf16", lambda: F.silu(x), 2 * x.numel() * 2))
    y, = tensors(bf16)
    # SwiGLU's eager form is two kernels; bytes count only its inputs and output.
    cases.append(("silu_mul", "bf16", lambda: F.silu(x) * y, 3 * x.numel() * 2))
    cases.append(("add", "bf16", lambda: x + y, 3 * x.numel() * 2))
    y32, = tensors(fp32)
    cases.append(("add", "fp32", lambda: x32 + y32, 3 * x32.numel() * 4))
    cases.append(("softmax", "bf16", lambda: torch.softmax(x, dim=-1), 2 * x.numel() * 2))
    for op, dtype, fn, nbytes in cases:
        try:
            s = timer(fn)
            out.append({"op": op, "dtype": dtype, "shape": [T, h], "bytes": nbytes, "s": s, "gbps": nbytes / s / 1e9})
            log("elementwise %-10s %s  %8.1f us  %7.0f GB/s" % (op, dtype, s * 1e6, nbytes / s / 1e9))
        except Exception as e:
            log("elementwise %s %s failed: %s" % (op, dtype, e))
    torch.cuda.empty_cache()



# ---------------------------------------------------- sustained load

SMI_NAMES = {"clocks.sm": "sm_mhz", "clocks.mem": "mem_mhz", "power.draw": "power_w", "temperature.gpu": "temp_c"}


def smi_query(fields):
    """One nvidia-smi reading of fields, or None where nvidia-smi or a field is missing."""
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"],
                           capture_output=True, text=True, timeout=20)
    except Exception:
        return None
    if r.returncode != 0 or not r.stdout.strip():
        return None
    parts = [x.strip() for x in r.stdout.strip().splitlines()[0].split(",")]
    return parts if len(parts) == len(fields) else None


def smi_limits(env):
    """The power limit and clock ceilings the driver enforces, into env."""
    names = {"power.limit": "power_limit_w", "enforced.power.limit": "enforced_power_limit_w",
             "clocks.max.sm": "max_sm_mhz", "clocks.max.mem": "max_mem_mhz"}
    for field, key in names.items():
        got = smi_query([field])
        if got:
            try:
                env[key] = float(got[0])
            except ValueError:
                pass


class SmiSampler:
    """nvidia-smi in loop mode in the background: SM and memory clock, board
    power, temperature and the active clock-event (throttle) reasons every
    interval_ms, timed from t0 (time.monotonic())."""

    def __init__(self, t0, interval_ms=500):
        self.t0, self.proc, self.fields, self.lines = t0, None, None, []
        base = ["clocks.sm", "clocks.mem", "power.draw", "temperature.gpu"]
        for extra in (["clocks_event_reasons.active"], ["clocks_throttle_reasons.active"], []):
            if smi_query(base + extra):
                self.fields = base + extra
                break
        if self.fields is None:
            return
        try:
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=" + ",".join(self.fields), "--format=csv,noheader,nounits",
                 "-lms", str(interval_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except Exception:
            self.proc = None
            return
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.t0, line.strip()))

    def stop(self):
        if self.proc is None:
            return []
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
        self.thread.join(5)
        out = []
        for t, line in list(self.lines):
            parts = [x.strip() for x in line.split(",")]
            if len(parts) != len(self.fields):
                continue
            d = {"t_s": round(t, 2)}
            for f, x in zip(self.fields, parts):
                if f in SMI_NAMES:
                    try:
                        d[SMI_NAMES[f]] = float(x)
                    except ValueError:
                        pass
                else:
                    d["reasons"] = x
            out.append(d)
        return out


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def measure_sustained(torch, dtype, seconds, window_s, out, notes):
    """Back-to-back 8192^3 products for `seconds`: the rate in windows of
    about window_s, and what nvidia-smi reads meanwhile. The gemm section's
    short bursts see the chip before its clock settles under load; this
    section sees the clock the chip holds for as long as a training run."""
    n = 8192
    if dtype == "fp8":
        why = fp8_support(torch)
        if why:
            notes.append("sustained fp8 skipped: " + why)
            return
        a = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
        b = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16).to(torch.float8_e4m3fn).t()
        one = torch.ones((), device=DEVICE, dtype=torch.float32)

        def fn():
            scaled_mm(torch, a, b, one)
    else:
        a = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
        b = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
        c = torch.empty(n, n, device=DEVICE, dtype=torch.bfloat16)

        def fn():
            torch.matmul(a, b, out=c)
    flops = 2.0 * n * n * n
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    fn()
    torch.cuda.synchronize()
    start.record()
    for _ in range(10):
        fn()
    end.record()
    end.synchronize()
    per = max(start.elapsed_time(end) / 1e3 / 10, 1e-6)
    iters = max(1, int(window_s / per))
    t0 = time.monotonic()
    smi = SmiSampler(t0)
    windows = []
    try:
        while time.monotonic() - t0 < seconds:
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            end.synchronize()
            s = start.elapsed_time(end) / 1e3 / iters
            windows.append({"t_s": round(time.monotonic() - t0, 2), "s": s, "tflops": flops / s / 1e12})
    finally:
        samples = smi.stop()
    if not windows:
        return
    total = windows[-1]["t_s"]
    first = [w["tflops"] for w in windows if w["t_s"] <= 5.0] or [windows[0]["tflops"]]
    last = [w["tflops"] for w in windows if w["t_s"] >= 0.8 * total] or [windows[-1]["tflops"]]
    p = {"m": n, "n": n, "k": n, "dtype": dtype, "seconds": total, "window_s": window_s,
         "first5s_tflops": mean(first), "last20pct_tflops": mean(last), "windows": windows, "smi": samples}
    late = [x for x in samples if x["t_s"] >= 0.8 * total]
    for key in ("sm_mhz", "power_w", "temp_c"):
        vals = [x[key] for x in late if key in x]
        if vals:
            p["last20pct_" + key] = mean(vals)
    out.append(p)
    log("sustained %s %.0f s: first 5 s %.1f TFLOPS, last 20%% %.1f TFLOPS, SM %s MHz, %s W, %s C" % (
        dtype, total, p["first5s_tflops"], p["last20pct_tflops"], p.get("last20pct_sm_mhz"),
        p.get("last20pct_power_w"), p.get("last20pct_temp_c")))


# ------------------------------------------------------ training steps

MODELS = [
    # name, style, layers, hidden, heads, kv_heads, ffn, ffn_kind, vocab, tied, seq_len, micro_batch
    ("gpt-125m", "gpt", 12, 768, 12, 12, 3072, "gelu", 50304, True, 1024, 16),
    ("llama-160m", "llama", 12, 768, 12, 4, 2048, "swiglu", 32000, False, 2048, 8),
    ("gpt-350m", "gpt", 24, 1024, 16, 16, 4096, "gelu", 50304, True, 1024, 8),
    ("llama-400m", "llama", 24, 1024, 16, 4, 2816, "swiglu", 32000, False, 2048, 4),
    ("gpt-760m", "gpt", 24, 1536, 16, 16, 6144, "gelu", 50304, True, 2048, 4),
    # The shape of Llama 3.2 1B (tied embeddings, 128k vocabulary).
    ("llama-1b", "llama", 16, 2048, 32, 8, 8192, "swiglu", 128256, True, 2048, 2),
    # Layers of the width that large runs give each GPU: Llama 3 8B's and
    # Llama 3 70B's (GQA, 128k vocabulary), fewer of them so that the
    # pytorch-amp states fit one GPU of 80 GB or more.
    ("llama3-8b-16l", "llama", 16, 4096, 32, 8, 14336, "swiglu", 128256, False, 4096, 1),
    ("llama3-70b-4l", "llama", 4, 8192, 64, 8, 28672, "swiglu", 128256, False, 4096, 1),
]

# Models whose step is also traced once by the PyTorch profiler, for where
# the GPU's time goes (kernel time by kind; the rest of the step is idle).
PROFILED = ("llama-1b", "llama3-8b-16l", "llama3-70b-4l")
BIG = ("llama3-8b-16l", "llama3-70b-4l")


def kernel_kind(name):
    n = name.lower()
    for kind, keys in (
        ("attention", ("flash", "fmha", "sdpa", "attention", "attn")),
        ("optimizer", ("adam", "multi_tensor")),
        ("gemm", ("gemm", "nvjet", "cutlass", "xmma", "cublas", "matmul", "gemv", "sm90_", "sm80_")),
        ("loss", ("nll", "log_softmax", "softmax", "cross_entropy")),
        ("norm", ("norm",)),
        ("copy", ("copy", "cast", "convert", "fill")),
        ("embedding", ("embedding", "index")),
        ("reduce", ("reduce",)),
        ("elementwise", ("elementwise", "vectorized", "unrolled")),
    ):
        if any(k in n for k in keys):
            return kind
    return "other"


def profile_step(torch, step):
    """Kernel time by kind over one step, from the PyTorch profiler."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    kinds, kernels = {}, []
    for e in prof.key_averages():
        if "cuda" not in str(getattr(e, "device_type", "")).lower():
            continue
        # A user annotation (the optimizer's "Optimizer.step#AdamW.step")
        # spans kernels that are also listed one by one.
        if getattr(e, "is_user_annotation", False) or e.key.startswith(("Optimizer.", "ProfilerStep")):
            continue
        us = getattr(e, "self_device_time_total", None)
        if us is None:
            us = getattr(e, "self_cuda_time_total", 0.0)
        if not us:
            continue
        k = kernel_kind(e.key)
        kinds[k] = kinds.get(k, 0.0) + us / 1e6
        kernels.append({"name": e.key[:120], "kind": k, "calls": e.count, "s": us / 1e6})
    if not kinds:
        raise RuntimeError("the trace holds no CUDA kernel events")
    kernels.sort(key=lambda x: -x["s"])
    return {"kernel_s_by_kind": kinds, "kernel_s": sum(kinds.values()), "top_kernels": kernels[:20]}


def build_model(torch, cfg):
    nn, F = torch.nn, torch.nn.functional
    name, style, L, h, H, KV, ffn, ffn_kind, V, tied, S, _ = cfg
    hd = h // H
    gpt = style == "gpt"

    class RMSNorm(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            x32 = x.float()
            return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight

    def norm():
        if gpt:
            return nn.LayerNorm(h)
        return nn.RMSNorm(h, eps=1e-5) if hasattr(nn, "RMSNorm") else RMSNorm(h)

    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = norm(), norm()
            self.qkv = nn.Linear(h, (H + 2 * KV) * hd, bias=gpt)
            self.proj = nn.Linear(H * hd, h, bias=gpt)
            if ffn_kind == "gelu":
                self.fc1 = nn.Linear(h, ffn, bias=gpt)
            else:
                self.fc1 = nn.Linear(h, 2 * ffn, bias=False)  # gate and up
            self.fc2 = nn.Linear(ffn, h, bias=gpt)

        def forward(self, x, cos, sin):
            b, s, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split([H * hd, KV * hd, KV * hd], dim=-1)
            q = q.view(b, s, H, hd).transpose(1, 2)
            k = k.view(b, s, KV, hd).transpose(1, 2)
            v = v.view(b, s, KV, hd).transpose(1, 2)
            if cos is not None:
                cos_, sin_ = cos.to(q.dtype), sin.to(q.dtype)
                q = q * cos_ + rotate_half(q) * sin_
                k = k * cos_ + rotate_half(k) * sin_
            if KV != H:
                k = k.repeat_interleave(H // KV, dim=1)
                v = v.repeat_interleave(H // KV, dim=1)
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(o.transpose(1, 2).reshape(b, s, H * hd))
            y = self.fc1(self.ln2(x))
            if ffn_kind == "gelu":
                y = F.gelu(y)
            else:
                gate, up = y.chunk(2, dim=-1)
                y = F.silu(gate) * up
            return x + self.fc2(y)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, h)
            self.wpe = nn.Embedding(S, h) if gpt else None
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.ln_f = norm()
            self.lm_head = nn.Linear(h, V, bias=False)
            if tied:
                self.lm_head.weight = self.wte.weight
            for p in self.parameters():
                if p.dim() >= 2:
                    nn.init.normal_(p, std=0.02)
            self.recompute = False
            if not gpt:
                inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
                f = torch.outer(torch.arange(S, dtype=torch.float32), inv)
                emb = torch.cat((f, f), dim=-1)
                self.register_buffer("cos", emb.cos(), persistent=False)
                self.register_buffer("sin", emb.sin(), persistent=False)

        def forward(self, idx, targets):
            s = idx.shape[1]
            x = self.wte(idx)
            cos = sin = None
            if gpt:
                x = x + self.wpe(torch.arange(s, device=idx.device))
            else:
                cos, sin = self.cos[:s], self.sin[:s]
            for blk in self.blocks:
                if self.recompute:
                    x = torch.utils.checkpoint.checkpoint(blk, x, cos, sin, use_reentrant=False)
                else:
                    x = blk(x, cos, sin)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, V), targets.view(-1))

    return Model()


def make_optimizer(torch, params, notes):
    try:
        return torch.optim.AdamW(params, lr=1e-4, fused=True), "fused"
    except Exception as e:
        note = "fused AdamW unavailable (%s); used foreach" % first_line(e)
        if note not in notes:
            notes.append(note)
        return torch.optim.AdamW(params, lr=1e-4, foreach=True), "foreach"


def measure_step(torch, cfg, recompute, warmup, repeats, notes, profiled=False):
    name, style, L, h, H, KV, ffn, ffn_kind, V, tied, S, mb = cfg
    try:
        with torch.device(DEVICE):  # initialise on the GPU: CPU init of 1B parameters takes many seconds
            model = build_model(torch, cfg)
    except (AttributeError, TypeError):  # PyTorch < 2.0: torch.device is no context manager
        model = build_model(torch, cfg).to(DEVICE)
    model.recompute = recompute == "full"
    opt, _ = make_optimizer(torch, model.parameters(), notes)
    idx = torch.randint(0, V, (mb, S), device=DEVICE)
    tgt = torch.randint(0, V, (mb, S), device=DEVICE)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            loss = model(idx, tgt)
        loss.backward()
        opt.step()
        return loss

    try:
        for _ in range(warmup):
            step()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(repeats):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            loss = step()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        if not math.isfinite(float(loss)):
            notes.append("step %s recompute=%s: loss is %s" % (name, recompute, float(loss)))
        peak = torch.cuda.max_memory_allocated() / GIB
        params = sum(p.numel() for p in model.parameters())
        prof = None
        if profiled:
            try:
                prof = profile_step(torch, step)
                log("step %s recompute=%s: kernels %.1f ms of %.1f ms: %s" % (
                    name, recompute, prof["kernel_s"] * 1e3, statistics.median(times) * 1e3,
                    ", ".join("%s %.1f" % (k, v * 1e3) for k, v in sorted(prof["kernel_s_by_kind"].items()))))
            except Exception as e:
                notes.append("profile %s recompute=%s failed: %s" % (name, recompute, first_line(e)))
                log("profile %s failed: %s" % (name, first_line(e)))
    finally:
        del model, opt, idx, tgt
        torch.cuda.empty_cache()
    point = {
        "name": name,
        "model": {"layers": L, "hidden": h, "heads": H, "kv_heads": KV, "head_dim": h // H, "ffn": ffn,
                  "ffn_kind": ffn_kind, "vocab": V, "tied_embeddings": tied,
                  "position": "learned" if style == "gpt" else "rope",
                  "norm": "layernorm" if style == "gpt" else "rmsnorm", "bias": style == "gpt"},
        "seq_len": S, "micro_batch": mb, "recipe": "pytorch-amp", "precision": "bf16",
        "recompute": recompute, "step_s": statistics.median(times), "peak_alloc_gib": peak, "params": params,
        "step_s_all": times,
    }
    if prof:
        point["profile"] = prof
    return point


def measure_steps(torch, quick, out, notes, deadline, profile=False, big=True, save=None):
    # The wide models first: they matter most and would be the first cut by the time budget.
    models = MODELS[:3] if quick else ([m for m in MODELS if big and m[0] in BIG] +
                                       [m for m in MODELS if m[0] not in BIG])
    warmup, repeats = (2, 3) if quick else (3, 5)
    for cfg in models:
        for recompute in ("none", "full"):
            left = deadline - elapsed()
            if left < 20:
                notes.append("step %s recompute=%s skipped: time budget spent" % (cfg[0], recompute))
                log("step %s recompute=%s skipped: %.0f s left" % (cfg[0], recompute, left))
                continue
            try:
                p = measure_step(torch, cfg, recompute, warmup, repeats, notes,
                                 profiled=profile and cfg[0] in PROFILED)
                out.append(p)
                log("step %-10s recompute=%-4s mb=%2d seq=%5d  %8.1f ms  peak %6.2f GiB" % (
                    cfg[0], recompute, cfg[11], cfg[10], p["step_s"] * 1e3, p["peak_alloc_gib"]))
            except Exception as e:
                oom = "out of memory" in str(e).lower()
                why = "out of memory" if oom else first_line(e)
                notes.append("step %s recompute=%s skipped: %s" % (cfg[0], recompute, why))
                log("step %s recompute=%s failed: %s" % (cfg[0], recompute, why))
                if not oom:
                    traceback.print_exc(file=sys.stderr)
            if save:
                save()
            # The traceback of a failed run holds its tensors until here.
            gc.collect()
            torch.cuda.empty_cache()


# ------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Measure this GPU for `flopcast calibrate`: GEMM, attention, copy and elementwise "
                    "throughput, and training steps of small models. Needs PyTorch with CUDA.",
        epilog="Then: flopcast calibrate --from FILE --out profile.yaml")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--quick", action="store_true", help="fewer shapes and models (about a minute)")
    ap.add_argument("--budget-s", type=float, default=280,
                    help="stop starting new training-step runs after this many seconds (default 280)")
    ap.add_argument("--sections", default="copy,gemm,fp8,attention,elementwise,steps",
                    help="comma-separated subset of copy,gemm,fp8,attention,elementwise,sustained,steps "
                         "(sustained, minutes of back-to-back GEMMs, runs only when named)")
    ap.add_argument("--sustained-s", type=float, default=60,
                    help="seconds of back-to-back bf16 GEMMs in the sustained section (default 60)")
    ap.add_argument("--sustained-fp8-s", type=float, default=30,
                    help="seconds of back-to-back fp8 GEMMs in the sustained section (default 30; 0 skips)")
    ap.add_argument("--profile", action="store_true",
                    help="trace one step of the larger models with the PyTorch profiler: kernel time by kind")
    ap.add_argument("--no-big", action="store_true",
                    help="skip the Llama 3 8B- and 70B-wide step models (they need about 110 GiB)")
    args = ap.parse_args(argv)
    sections = set(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = sections - {"copy", "gemm", "fp8", "attention", "elementwise", "sustained", "steps"}
    if unknown:
        ap.error("unknown sections: " + ", ".join(sorted(unknown)))

    try:
        import torch
        import torch.utils.checkpoint  # noqa: F401  (used as torch.utils.checkpoint.checkpoint)
    except ImportError:
        print("measure.py: PyTorch is not installed (pip install torch)", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("measure.py: no CUDA device is visible to PyTorch", file=sys.stderr)
        return 2
    torch.manual_seed(0)

    env = measure_env(torch)
    smi_limits(env)
    log("device %s (%s SMs, %.1f GiB), driver %s, torch %s, CUDA %s" % (
        env["gpu"], env["sms"], env["mem_gib"], env["driver"], env["torch"], env["cuda"]))
    notes = [
        "gemm tflops = 2*m*n*k / time; a@b with a (m,k) and b (k,n), bf16 in and out, torch.matmul",
        "attention: SDPA causal, PyTorch's default backend choice; fwd flops = 4*b*heads*s*s*d/2; "
        "fwd+bwd counted as 3.5x fwd flops; fwd timed with grad enabled (as in training), "
        "bwd via torch.autograd.grad",
        "copy_tbps counts bytes read plus written",
        "elementwise bytes count each input read and output written once",
        "steps: pytorch-amp recipe (fp32 params+grads+AdamW states, torch.autocast bf16, fused AdamW, SDPA); "
        "recompute full = torch.utils.checkpoint per layer; peak_alloc_gib = torch.cuda.max_memory_allocated "
        "over the timed steps, after warm-up",
        "timing: CUDA events, warm-up, median of repeats; random data; no L2 flush between GEMM repeats",
        "sustained: 8192^3 products back to back for minutes, timed in windows, with nvidia-smi's SM clock, "
        "board power, temperature and clock-event reasons sampled every 0.5 s (t_s from the section's start)",
        "steps profile: one step traced by torch.profiler (CUDA activity); kernel seconds summed by kind "
        "from the kernel names; the step's time less kernel_s is time the GPU was idle",
    ]
    doc = {
        "what": "Microbenchmarks of one %s, PyTorch %s + CUDA %s, written by tools/gpu/measure.py%s: bf16 unless noted, "
                "random data, median of timed repeats after warm-up." % (
                    env["gpu"], env["torch"], env["cuda"], " --quick" if args.quick else ""),
        "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "tool": TOOL,
        "env": env,
        "gemm": [],
        "attention": [],
        "elementwise": [],
        "steps": [],
        "sustained": [],
        "notes": notes,
    }
    write_json(args.out, doc)

    repeats, target_ms = (5, 1.0) if args.quick else (9, 2.0)
    timer = Timer(torch, repeats, target_ms)

    def section(name, fn):
        if name not in sections:
            return
        log("--- %s" % name)
        try:
            fn()
        except Exception as e:
            notes.append("%s: failed: %s" % (name, first_line(e)))
            log("%s failed" % name)
            traceback.print_exc(file=sys.stderr)
        gc.collect()
        try:
            torch.cuda.empty_cache()
        except Exception:
            pass
        write_json(args.out, doc)

    sections.add("spin-up")
    section("spin-up", lambda: spin_up(torch, 1.0 if args.quick else 3.0))

    def copy():
        env["copy_tbps"] = measure_copy(torch, timer, args.quick)
        log("copy %.3f TB/s" % env["copy_tbps"])

    section("copy", copy)
    section("gemm", lambda: measure_gemm_bf16(torch, timer, args.quick, doc["gemm"]))
    section("fp8", lambda: measure_gemm_fp8(torch, timer, args.quick, doc["gemm"], notes))
    section("attention", lambda: measure_attention(torch, timer, args.quick, doc["attention"]))
    section("elementwise", lambda: measure_elementwise(torch, timer, args.quick, doc["elementwise"]))
    def sustained():
        measure_sustained(torch, "bf16", args.sustained_s, 2.0, doc["sustained"], notes)
        write_json(args.out, doc)
        if args.sustained_fp8_s > 0:
            measure_sustained(torch, "fp8", args.sustained_fp8_s, 2.0, doc["sustained"], notes)

    section("sustained", sustained)
    section("steps", lambda: measure_steps(torch, args.quick, doc["steps"], notes, args.budget_s,
                                           profile=args.profile, big=not args.no_big,
                                           save=lambda: write_json(args.out, doc)))

    write_json(args.out, doc)
    log("wrote %s: %d gemm, %d attention, %d elementwise, %d step points in %.0f s" % (
        args.out, len(doc["gemm"]), len(doc["attention"]), len(doc["elementwise"]), len(doc["steps"]), elapsed()))
    if not doc["gemm"] or not doc["attention"] or "copy_tbps" not in env:
        log("some sections are empty: flopcast calibrate needs env.copy_tbps, gemm and attention")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
