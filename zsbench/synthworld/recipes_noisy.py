"""Recipes for noise-like sources: rain, wind, applause, dog bark.

Each recipe: (param rng, noise rng, n samples, sample rate) -> ``_Sound``. Parameters in
seconds and hertz, so the same seed gives the same sound at any sample rate."""

from __future__ import annotations

import numpy as np

from zsbench.synthworld.dsp import (
    _butter_gain,
    _coloured_noise,
    _cycles,
    _env,
    _fast_len,
    _fftconv,
    _filter,
    _freqs,
    _harmonic_amps,
    _log_uniform,
    _onset,
    _peak_gain,
    _place,
    _sin,
    _smooth_random,
    _wavetable,
)
from zsbench.synthworld.text import _band, _num, _Sound, _Text, _times


def _rain(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    intensity = rng.uniform()
    lo, hi = rng.uniform(400.0, 1000.0), min(rng.uniform(4000.0, 9000.0), 0.45 * sr)
    drop_rate = 15.0 + 250.0 * intensity ** 1.5
    drop_mix = rng.uniform(0.5, 1.2) * (1.3 - 0.6 * intensity)
    ping_freqs = [min(_log_uniform(rng, 1500.0, 5000.0), 0.4 * sr) for _ in range(3)]
    dur = n / sr
    bed = _coloured_noise(nrng, n, sr, lambda f: _butter_gain(f, lo, hi, 1))
    bed *= (0.3 + 0.7 * intensity) / (bed.std() + 1e-12)
    bed *= 1.0 + 0.25 * _smooth_random(nrng, n, sr, 0.3)
    drops = np.zeros(n, dtype=np.float32)
    klen = max(1, int(0.03 * sr))
    for f0 in ping_freqs:
        count = nrng.poisson(drop_rate * dur / 3.0)
        train = np.zeros(n)
        np.add.at(train, nrng.integers(0, n, count), nrng.uniform(0.2, 1.0, count) ** 2)
        kernel = _sin(_cycles(f0, klen, sr)) * _env(klen, sr, rng.uniform(0.002, 0.006), 0.0003)
        drops += _fftconv(train, kernel).astype(np.float32)
    drops *= drop_mix * 3.0 / (np.sqrt(drop_rate) + 1e-12)
    x = bed + drops
    band = _band(intensity, 0.33, 0.66)
    text = _Text(
        nouns=("rain", "rainfall", "falling rain"), det="",
        quals=[[("light", "gentle"), ("moderate", "steady"), ("heavy", "intense")][band]],
        actions=[("pattering with scattered droplets", "falling in sparse light drops",
                  "sprinkling with a few distinct drips"),
                 ("falling steadily with an even hiss", "pattering steadily", "coming down at a steady pace"),
                 ("pouring down in a dense roaring hiss", "falling hard as a thick wash of noise",
                  "coming down in a downpour")][band],
        details=[("with a constant patter of droplets", "with countless droplets ticking on a surface")]
        if drop_rate > 120 else ([("with individual droplets clearly audible",
                                   "with separate drops ticking now and then")] if drop_rate < 45 else []))
    return _Sound(x, dict(intensity=intensity, band_hz=[lo, hi], drops_per_s=drop_rate), text)


def _wind(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    cutoff = _log_uniform(rng, 200.0, 900.0)
    gust = rng.uniform()
    gust_rate = rng.uniform(0.08, 0.4)
    bright_f = min(cutoff * rng.uniform(2.0, 4.0), 0.4 * sr)
    howl = bool(rng.uniform() < 0.35)
    howl_f = rng.uniform(300.0, 900.0)
    length = _fast_len(n)
    spec = np.fft.rfft(nrng.standard_normal(length))
    f = _freqs(length, sr)
    base = np.fft.irfft(spec * _butter_gain(f, 30.0, cutoff, 2), length)[:n]
    bright = np.fft.irfft(spec * _peak_gain(f, bright_f, 1.5), length)[:n]
    base /= base.std() + 1e-12
    bright /= bright.std() + 1e-12
    env = 1.0 / (1.0 + np.exp(-1.8 * _smooth_random(nrng, n, sr, gust_rate)))  # 0..1 gusts
    level = (1.0 - 0.85 * gust) + 0.85 * gust * env
    x = base * level + 0.5 * bright * (gust * env) ** 2
    if howl:
        freq = howl_f * (1.0 + 0.35 * (env - 0.5))
        wob = 1.0 + 0.3 * _smooth_random(nrng, n, sr, 3.0)
        x = x + 0.6 * _sin(_cycles(freq, n, sr)) * wob * env ** 2 * (0.3 + gust)
    band = _band(gust, 0.3, 0.65)
    text = _Text(
        nouns=("wind", "outdoor wind", "wind outside"), det="",
        quals=[[("gentle", "light"), ("moderate", "breezy"), ("strong", "gusty")][band]],
        actions=[("blowing steadily with a smooth whoosh", "rushing softly and evenly",
                  "blowing with only slight changes"),
                 ("blowing in slow swells", "rising and falling gently", "surging now and then"),
                 ("blowing in strong gusts that swell and fade", "gusting hard, rising and falling",
                  "whooshing in powerful surges")][band],
        details=[("a deep, muffled rush of air", "a dark low roar of air") if cutoff < 400 else
                 ("a bright, airy rush", "a breathy rushing sound")]
        + ([("with an eerie howling tone", "howling as it blows")] if howl else []))
    return _Sound(x, dict(cutoff_hz=cutoff, gustiness=gust, gust_rate_hz=gust_rate, howl=howl,
                          howl_hz=howl_f if howl else 0.0), text)


def _dog_bark(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    size = rng.uniform()
    f0 = 550.0 * 2.0 ** (-1.6 * size) * rng.uniform(0.85, 1.15)
    formant = 1800.0 * 2.0 ** (-1.3 * size) * rng.uniform(0.8, 1.2)
    rough = rng.uniform(0.2, 0.6)
    dur = n / sr
    starts, lengths = [], []
    t = _onset(rng, dur, 0.6)
    while t < dur:
        for _ in range(int(rng.integers(1, 4))):
            if t >= dur:
                break
            length = (rng.uniform(0.08, 0.14) + 0.1 * size) * rng.uniform(0.8, 1.2)
            starts.append(t)
            lengths.append(length)
            t += length + rng.uniform(0.08, 0.2)
        t += rng.uniform(0.5, 2.5)
    kernels = []
    amps = _harmonic_amps(20, f0 * 1.2, sr, 1.0)
    for length in lengths:
        m = max(2, int(length * sr))
        u = np.linspace(0.0, 1.0, m)
        freq = f0 * (0.85 + 0.35 * np.sin(np.pi * u ** 0.7)) * rng.uniform(0.93, 1.07)
        k = _wavetable(_cycles(freq, m, sr), amps) + rough * nrng.standard_normal(m).astype(np.float32)
        k = np.tanh(2.0 * k) * _env(m, sr, 0.35 * length, 0.008)
        kernels.append(k.astype(np.float32))
    x = _place(n, starts, kernels, rng.uniform(0.7, 1.0, len(starts)), sr)
    x = _filter(x, sr, lambda f: _peak_gain(f, formant, 1.2) + 0.6 * _peak_gain(f, min(2.3 * formant, 0.4 * sr), 1.5))
    k = len(starts)
    band = _band(size, 0.33, 0.66)
    count = _num(k) if k < 13 else "many"
    text = _Text(
        nouns=("dog", "dog", "pet dog"),
        quals=[[("small", "little"), (), ("big", "large")][band]],
        actions=(f"barking {_times(k)} at irregular moments", f"letting out {count} harsh barks",
                 f"giving {count} rough barks at uneven intervals") if k > 1 else
        ("barking once", "letting out a single harsh bark", "giving one rough bark"),
        details=[[("with high, yappy barks", "sharp yaps"), ("with harsh, rasping barks", "rough, raspy woofs"),
                  ("with deep, gruff barks", "a low rough woof")][band]])
    return _Sound(x, dict(size=size, f0_hz=f0, formant_hz=formant, roughness=rough, barks=k), text)


def _applause(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    crowd = rng.uniform()
    rate = 15.0 * 2.0 ** (4.5 * crowd)
    tau = rng.uniform(0.004, 0.012)
    lo, hi = rng.uniform(600.0, 1200.0), min(rng.uniform(3000.0, 7000.0), 0.45 * sr)
    fade_in = rng.uniform(0.2, 1.0)
    dying = bool(rng.uniform() < 0.5)
    tail = rng.uniform(0.3, 0.6)
    dur = n / sr
    count = nrng.poisson(rate * dur)
    train = np.zeros(n)
    np.add.at(train, nrng.integers(0, n, count), nrng.uniform(0.3, 1.0, count))
    klen = int(6 * tau * sr) + 1
    env = _fftconv(train, _env(klen, sr, tau, 0.0005))
    x = _filter(nrng.standard_normal(n) * env, sr, lambda f: _butter_gain(f, lo, hi, 2))
    t = np.arange(n) / sr
    shape = np.clip(t / fade_in, 0.0, 1.0)
    if dying:
        shape *= np.clip((dur - t) / (tail * dur), 0.0, 1.0) ** 1.5
    x = x * shape
    band = _band(crowd, 0.33, 0.66)
    text = _Text(
        nouns=("applause", "clapping", "hand clapping"), det="",
        quals=[[("sparse", "scattered"), ("lively", "warm"), ("thunderous", "enthusiastic")][band]],
        actions=("building up and then dying down", "swelling and then fading away", "rising then tapering off")
        if dying else ("going on steadily", "continuing without letting up", "sustained throughout"),
        details=[[("from a small group of people", "from just a few people"),
                  ("from a medium-sized audience", "from a modest crowd"),
                  ("from a large crowd", "from a big audience")][band]])
    return _Sound(x, dict(crowd=crowd, claps_per_s=rate, clap_decay_s=tau, band_hz=[lo, hi],
                          dying_down=dying), text)
