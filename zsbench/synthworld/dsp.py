"""DSP building blocks of the sound world: FFT-domain filters, oscillators, envelopes, event
placement. Pure numpy, vectorised, deterministic given a generator."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


_TWO_PI = 2.0 * np.pi


def _fast_len(n: int) -> int:
    """Smallest 5-smooth length >= n: pocketfft is slow on lengths with large prime factors."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _freqs(length: int, sr: int) -> np.ndarray:
    return np.fft.rfftfreq(length, 1.0 / sr)


def _butter_gain(f: np.ndarray, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Butterworth-shaped magnitude response (zero phase): no ringing, no recursion."""
    g = np.ones_like(f)
    if lo is not None:
        with np.errstate(divide="ignore"):
            g = g / np.sqrt(1.0 + (lo / np.maximum(f, 1e-6)) ** (2 * order))
    if hi is not None:
        g = g / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return g


def _peak_gain(f: np.ndarray, centre: float, q: float) -> np.ndarray:
    """Resonance bump (second-order band-pass magnitude) centred on ``centre``."""
    ratio = np.maximum(f, 1e-6) / centre
    return 1.0 / np.sqrt(1.0 + (q * (ratio - 1.0 / ratio)) ** 2)


def _filter(x: np.ndarray, sr: int, gain: Callable[[np.ndarray], np.ndarray],
            pad_s: float = 0.25) -> np.ndarray:
    """Apply a zero-phase gain curve; padding keeps filter tails from wrapping onto the start."""
    n = len(x)
    length = _fast_len(n + min(n, int(pad_s * sr)) + 1)
    spec = np.fft.rfft(x, length)
    return np.fft.irfft(spec * gain(_freqs(length, sr)), length)[:n]


def _coloured_noise(rng: np.random.Generator, n: int, sr: int,
                    gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Stationary noise with the given spectrum, filtered circularly so no edge dips."""
    length = _fast_len(n)
    spec = np.fft.rfft(rng.standard_normal(length))
    return np.fft.irfft(spec * gain(_freqs(length, sr)), length)[:n]


def _fftconv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Causal linear convolution truncated to len(x)."""
    n = len(x)
    length = _fast_len(n + len(kernel))
    return np.fft.irfft(np.fft.rfft(x, length) * np.fft.rfft(kernel, length), length)[:n]


def _cycles(freq: np.ndarray | float, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    """Running phase in cycles of a (possibly time-varying) frequency."""
    if np.isscalar(freq):
        return phase + float(freq) * np.arange(n) / sr
    return phase + np.cumsum(freq) / sr


def _sin(cycles: np.ndarray) -> np.ndarray:
    """Sine of a phase in cycles; reduced in float64, evaluated in float32 (SIMD fast)."""
    return np.sin((_TWO_PI * (cycles % 1.0)).astype(np.float32))


def _wavetable(cycles: np.ndarray, amps: np.ndarray, size: int = 2048) -> np.ndarray:
    """Harmonic oscillator by table lookup: many partials for the price of one."""
    k = np.arange(1, len(amps) + 1)[:, None]
    table = (np.asarray(amps)[:, None] * np.sin(_TWO_PI * k * np.arange(size) / size)).sum(0)
    pos = (cycles % 1.0) * size
    i = pos.astype(np.int64)
    frac = (pos - i).astype(np.float32)
    t0 = table.astype(np.float32)
    return t0[i] + frac * (t0[(i + 1) % size] - t0[i])


def _harmonic_amps(n_max: int, top_freq: float, sr: int, slope: float) -> np.ndarray:
    """1/k**slope partials, dropping those that would alias at the highest pitch."""
    k = np.arange(1, n_max + 1, dtype=float)
    amps = k ** -slope
    amps[k * top_freq > 0.45 * sr] = 0.0
    return amps


def _env(length: int, sr: int, tau: float, attack: float = 0.002) -> np.ndarray:
    """Exponential decay with a short exponential attack (no click at the start)."""
    t = (np.arange(length) / sr).astype(np.float32)
    return (1.0 - np.exp(-t / attack)) * np.exp(-t / tau)


def _place(n: int, starts: Sequence[float], kernels: Sequence[np.ndarray] | np.ndarray,
           amps: Sequence[float] | None = None, sr: int = 1) -> np.ndarray:
    """Sum event kernels into a silent track at the given start times (seconds)."""
    out = np.zeros(n, dtype=np.float32)
    single = isinstance(kernels, np.ndarray)
    for j, start in enumerate(starts):
        s = int(round(start * sr))
        if s >= n or s < 0:
            continue
        k = kernels if single else kernels[j]
        m = min(len(k), n - s)
        out[s:s + m] += (1.0 if amps is None else amps[j]) * k[:m]
    return out


def _smooth_random(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """A slowly wandering control signal (unit-variance knots, smoothstep between them)."""
    pos = np.arange(n) / sr * rate
    knots = rng.standard_normal(int(pos[-1]) + 3 if n else 3)
    i = pos.astype(np.int64)
    u = pos - i
    u = u * u * (3.0 - 2.0 * u)
    return (knots[i] * (1.0 - u) + knots[i + 1] * u).astype(np.float32)


def _ramp_db(n: int, start_db: float, end_db: float) -> np.ndarray:
    return (10.0 ** (np.linspace(start_db, end_db, n) / 20.0)).astype(np.float32)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _onset(rng: np.random.Generator, dur: float, cap: float) -> float:
    """Random start of the first event, always early enough to land inside the clip."""
    return float(rng.uniform(0.0, min(cap, 0.25 * dur)))


def _regular_times(rng: np.random.Generator, start: float, period: float, dur: float,
                   jitter: float, limit: int = 10_000) -> list[float]:
    times, t = [], start
    while t < dur and len(times) < limit:
        times.append(t)
        t += period * (1.0 + jitter * float(rng.standard_normal()))
    return times
