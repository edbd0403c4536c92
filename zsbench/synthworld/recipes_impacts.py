"""Recipes for impact sources: heartbeat, clock, door knock, drums, footsteps, drips, glasses.

Each recipe: (param rng, noise rng, n samples, sample rate) -> ``_Sound``. Parameters in
seconds and hertz, so the same seed gives the same sound at any sample rate."""

from __future__ import annotations

import numpy as np

from zsbench.synthworld.dsp import (
    _butter_gain,
    _cycles,
    _env,
    _fftconv,
    _filter,
    _log_uniform,
    _onset,
    _place,
    _ramp_db,
    _regular_times,
    _sin,
)
from zsbench.synthworld.text import _band, _num, _rate_phrase, _Sound, _Text, _third, _times


def _heartbeat(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    bpm = rng.uniform(50.0, 115.0)
    period = 60.0 / bpm
    f_lub = rng.uniform(35.0, 60.0)
    f_dub = f_lub * rng.uniform(1.15, 1.5)
    gap = rng.uniform(0.26, 0.36) * np.sqrt(period)
    dub_amp = rng.uniform(0.45, 0.9)
    tau = rng.uniform(0.03, 0.07)
    klen = int((gap + 0.3) * sr)
    t = np.arange(int(0.3 * sr)) / sr

    def thump(f0: float) -> np.ndarray:
        freq = f0 * (1.0 + 0.6 * np.exp(-t / 0.015))
        return _sin(_cycles(freq, len(t), sr)) * _env(len(t), sr, tau, 0.004)

    kernel = np.zeros(klen, dtype=np.float32)
    kernel[:len(t)] += thump(f_lub)
    g = int(gap * sr)
    kernel[g:g + len(t)] += dub_amp * thump(f_dub)[: klen - g]
    times = _regular_times(rng, _onset(rng, n / sr, period), period, n / sr, 0.02)
    amps = rng.uniform(0.85, 1.15, len(times))
    x = _filter(_place(n, times, kernel, amps, sr), sr, lambda f: _butter_gain(f, 20.0, 150.0, 2))
    b = int(5 * round(bpm / 5))
    tempo = _band(bpm, 68, 92)
    text = _Text(
        nouns=("heartbeat", "human heartbeat", "heart"),
        quals=[[("slow", "calm"), ("steady", "regular"), ("fast", "racing")][tempo]],
        actions=(f"thumping at about {b} beats per minute", f"pulsing around {b} times a minute",
                 f"beating roughly {b} times per minute"),
        details=[("each beat a muffled low lub-dub double thump", "a deep, muffled pair of thumps per beat")])
    return _Sound(x, dict(bpm=bpm, lub_hz=f_lub, dub_hz=f_dub, gap_s=gap, beats=len(times)), text)


def _click_kernel(rng: np.random.Generator, nrng: np.random.Generator, sr: int, f0: float, tau: float,
                  length: float) -> np.ndarray:
    """A watch-escapement click: a noise tick exciting a few inharmonic case resonances."""
    ratios = np.array([1.0, 1.63, 2.37, 3.1])
    amps = np.array([1.0, 0.6, 0.4, 0.25]) * rng.uniform(0.6, 1.2, 4)
    t_len = int(length * sr)
    k = np.zeros(t_len, dtype=np.float32)
    for r, a in zip(ratios, amps):
        if f0 * r < 0.45 * sr:
            k += a * _sin(_cycles(f0 * r, t_len, sr, rng.uniform())) * _env(t_len, sr, tau / r ** 0.5, 0.0002)
    burst = int(0.0015 * sr) + 1
    k[:burst] += 0.5 * nrng.standard_normal(burst).astype(np.float32) * np.linspace(1, 0, burst, dtype=np.float32)
    return k


def _clock_tick(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    rate = float(rng.choice([1.0, 1.0, 1.0, 2.0, 2.0, 3.0]))
    f_tick = min(_log_uniform(rng, 1500.0, 4500.0), 0.4 * sr)
    f_tock = f_tick * rng.uniform(0.7, 0.88)
    tau = rng.uniform(0.003, 0.012)
    tick = _click_kernel(rng, nrng, sr, f_tick, tau, 0.06)
    tock = _click_kernel(rng, nrng, sr, f_tock, tau, 0.06)
    times = _regular_times(rng, _onset(rng, n / sr, 1.0 / rate), 1.0 / rate, n / sr, 0.003)
    x = _place(n, times, [tick if j % 2 == 0 else tock for j in range(len(times))],
               rng.uniform(0.9, 1.1, len(times)), sr)
    tone = _third(f_tick, 1500.0, 4500.0)
    text = _Text(
        nouns=("clock", "wall clock", "mantel clock"),
        actions=(f"ticking {_rate_phrase(rate)}", f"clicking {_rate_phrase(rate)}",
                 f"tick-tocking {_rate_phrase(rate)}"),
        details=[("alternating between a higher tick and a lower tock", "with a tick-tock alternation"),
                 [("with dull, woody clicks", "its clicks low and dull"),
                  ("with crisp clicks", "its clicks short and crisp"),
                  ("with sharp, bright clicks", "its clicks high and sharp")][tone]])
    return _Sound(x, dict(ticks_per_s=rate, tick_hz=f_tick, tock_hz=f_tock, decay_s=tau,
                          ticks=len(times)), text)


def _door_knock(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    f1 = _log_uniform(rng, 70.0, 150.0)
    f2 = f1 * rng.uniform(1.9, 2.7)
    f3 = _log_uniform(rng, 300.0, 800.0)
    decay = rng.uniform(0.03, 0.06)
    cutoff = _log_uniform(rng, 1000.0, 3500.0)
    per_group = int(rng.integers(2, 5))
    spacing = rng.uniform(0.12, 0.25)
    groups = int(rng.integers(1, 4))
    m = int(0.2 * sr)
    kernel = (_sin(_cycles(f1, m, sr)) * _env(m, sr, decay, 0.001)
              + 0.7 * _sin(_cycles(f2, m, sr)) * _env(m, sr, 0.6 * decay, 0.001)
              + 0.5 * _sin(_cycles(f3, m, sr)) * _env(m, sr, 0.012, 0.0005))
    click = int(0.004 * sr) + 1
    kernel[:click] += 0.6 * nrng.standard_normal(click).astype(np.float32) * np.linspace(1, 0, click, dtype=np.float32)
    dur = n / sr
    times = []
    t = _onset(rng, dur, 0.6)
    done_groups = 0
    while t < dur and done_groups < groups:
        done_groups += 1
        for _ in range(per_group):
            times.append(t)
            t += spacing * rng.uniform(0.9, 1.1)
        t += rng.uniform(0.8, 2.5)
    x = _place(n, times, kernel, rng.uniform(0.85, 1.15, len(times)), sr)
    x = _filter(x, sr, lambda f: _butter_gain(f, 40.0, cutoff, 2))
    g = done_groups
    text = _Text(
        nouns=("knocks on a door", "knocks at the door", "raps on a door"), det=_num(per_group),
        quals=[("dull", "muffled") if cutoff < 1800 else ("sharp", "hard")],
        actions=("in one quick burst", "knocked in a single quick round", "rapped out in quick succession")
        if g == 1 else (f"in {_num(g)} rounds with pauses in between", f"knocked in {_num(g)} separate rounds",
                        f"repeated over {_num(g)} rounds"),
        details=[("deep and heavy, like solid wood", "thudding on solid wood")] if f1 < 100 else [])
    return _Sound(x, dict(f1_hz=f1, f2_hz=f2, f3_hz=f3, cutoff_hz=cutoff, knocks_per_group=per_group,
                          spacing_s=spacing, groups=g), text)


def _drum_beat(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    bpm = rng.uniform(70.0, 160.0)
    style = str(rng.choice(["rock", "four on the floor", "half-time"]))
    beat = 60.0 / bpm
    f_start, f_end = rng.uniform(100.0, 160.0), rng.uniform(45.0, 60.0)
    kick_tau, snare_tau, hat_tau = rng.uniform(0.12, 0.3), rng.uniform(0.07, 0.15), rng.uniform(0.015, 0.05)
    snare_f = rng.uniform(180.0, 240.0)
    hat_lo = min(rng.uniform(6000.0, 8000.0), 0.35 * sr)
    m = int(0.5 * sr)
    t = np.arange(m) / sr
    kick = _sin(_cycles(f_end + (f_start - f_end) * np.exp(-t / 0.03), m, sr)) * _env(m, sr, kick_tau, 0.001)
    s_noise = _filter(nrng.standard_normal(m), sr, lambda f: _butter_gain(f, 1000.0, min(8000.0, 0.45 * sr), 2), 0.0)
    snare = (1.5 * s_noise / (s_noise.std() + 1e-12) * _env(m, sr, snare_tau, 0.0005)
             + 0.8 * _sin(_cycles(snare_f, m, sr)) * _env(m, sr, 0.04, 0.0005))
    h_noise = _filter(nrng.standard_normal(m), sr, lambda f: _butter_gain(f, hat_lo, None, 3), 0.0)
    hat = 0.6 * h_noise / (h_noise.std() + 1e-12) * _env(m, sr, hat_tau, 0.0003)
    extra_kick = bool(rng.uniform() < 0.5)
    start = _onset(rng, n / sr, beat)
    hits: list[tuple[float, np.ndarray, float]] = []
    for b, bt in enumerate(np.arange(start, n / sr, beat)):
        pos = b % 4
        kick_on = {"rock": pos in (0, 2), "four on the floor": True, "half-time": pos == 0}[style]
        snare_on = pos == 2 if style == "half-time" else pos in (1, 3)
        if kick_on:
            hits.append((bt, kick, 1.0))
        if style == "rock" and extra_kick and pos == 2:
            hits.append((bt + beat / 2, kick, 0.7))
        if snare_on:
            hits.append((bt, snare, 1.0))
        if style != "four on the floor":
            hits.append((bt, hat, 0.8))
        hits.append((bt + beat / 2, hat, 0.6 if style != "four on the floor" else 0.9))
    vel = rng.uniform(0.85, 1.0, len(hits))
    x = _place(n, [h[0] for h in hits], [h[1] for h in hits], [h[2] * v for h, v in zip(hits, vel)], sr)
    b5 = int(5 * round(bpm / 5))
    tempo = _band(bpm, 95, 130)
    text = _Text(
        nouns=("drum beat", "drum pattern", "drumbeat"),
        quals=[[("slow", "laid-back"), ("mid-tempo", "moderate"), ("fast", "driving")][tempo]],
        actions=(f"playing at about {b5} beats per minute", f"keeping time at roughly {b5} beats a minute",
                 f"grooving at around {b5} beats per minute"),
        details=[{"rock": ("with kick, snare and hi-hat in a basic rock pattern",
                           "a simple rock groove of kick drum, snare and hi-hat"),
                  "four on the floor": ("with a thumping kick on every beat",
                                        "four-on-the-floor kicks with snare and off-beat hi-hats"),
                  "half-time": ("in a half-time feel with a heavy backbeat",
                                "a sparse half-time groove")}[style]])
    return _Sound(x, dict(bpm=bpm, style=style, kick_hz=[f_start, f_end], hits=len(hits)), text)


def _footsteps(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    running = bool(rng.uniform() < 0.3)
    rate = rng.uniform(2.6, 3.4) if running else rng.uniform(1.4, 2.2)
    surface = str(rng.choice(["hard floor", "gravel"]))
    distance = str(rng.choice(["steady", "approaching", "receding"], p=[0.5, 0.25, 0.25]))
    thud_f = rng.uniform(80.0, 160.0)
    click_tau = rng.uniform(0.003, 0.006)
    crunch_len = rng.uniform(0.12, 0.22)
    other_foot = rng.uniform(0.7, 0.95)
    top = min(rng.uniform(4000.0, 8000.0), 0.45 * sr)
    dur = n / sr
    times = _regular_times(rng, _onset(rng, dur, 0.5), 1.0 / rate, dur, 0.03)
    m = int(0.3 * sr)
    thud = _sin(_cycles(thud_f, m, sr)) * _env(m, sr, 0.025, 0.002)
    kernels = []
    for _ in times:
        if surface == "hard floor":
            k = 0.8 * thud.copy()
            heel = nrng.standard_normal(m).astype(np.float32) * _env(m, sr, click_tau, 0.0003)
            toe_at = int(rng.uniform(0.05, 0.09) * sr)
            k += heel
            k[toe_at:] += 0.5 * heel[: m - toe_at]
        else:
            c = int(crunch_len * sr)
            grains = np.zeros(m, dtype=np.float32)
            idx = nrng.integers(0, c, int(crunch_len * 900))
            np.add.at(grains, idx, nrng.uniform(-1.0, 1.0, len(idx)).astype(np.float32))
            shape = np.zeros(m, dtype=np.float32)
            shape[:c] = np.sin(np.pi * np.linspace(0.0, 1.0, c)) ** 0.5
            k = 0.5 * thud + 3.0 * grains * shape
        kernels.append(k)
    amps = [(1.0 if j % 2 == 0 else other_foot) * rng.uniform(0.85, 1.1) for j in range(len(times))]
    x = _filter(_place(n, times, kernels, amps, sr), sr, lambda f: _butter_gain(f, 50.0, top, 2))
    if distance != "steady":
        x = x * _ramp_db(n, -14.0, 0.0)[:: 1 if distance == "approaching" else -1]
    text = _Text(
        nouns=("footsteps", "steps", "footfalls"), det="",
        quals=[("running", "rapid")] if running else [("brisk", "quick")] if rate > 1.9 else [("steady", "unhurried")],
        actions=("of someone running", "moving at a run", "going at a fast run") if running else
        ("of someone walking", "moving at a walking pace", "walking along"),
        details=[("clicking on a hard floor", "tapping on a hard surface") if surface == "hard floor" else
                 ("crunching on gravel", "scrunching through gravel")]
        + ([{"approaching": ("coming closer", "getting louder as they approach"),
             "receding": ("moving away", "fading into the distance")}[distance]] if distance != "steady" else []))
    return _Sound(x, dict(running=running, steps_per_s=rate, surface=surface, distance=distance,
                          steps=len(times)), text)


def _water_drip(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    interval = rng.uniform(0.25, 1.6)
    irregular = rng.uniform(0.0, 0.35)
    f0 = min(_log_uniform(rng, 500.0, 2200.0), 0.3 * sr)
    glide = rng.uniform(1.3, 2.0)
    glide_t = rng.uniform(0.01, 0.03)
    tau = rng.uniform(0.015, 0.05)
    echo = bool(rng.uniform() < 0.6)
    rt, wet = rng.uniform(0.3, 1.2), rng.uniform(0.15, 0.5)
    dur = n / sr
    times = _regular_times(rng, _onset(rng, dur, interval), interval, dur, irregular)
    m = int(min(0.25, 6 * tau) * sr) + 1
    t = np.arange(m) / sr
    kernels = []
    for _ in times:
        f = f0 * rng.uniform(0.92, 1.08)
        freq = f * (glide - (glide - 1.0) * np.exp(-t / glide_t))
        kernels.append(_sin(_cycles(freq, m, sr)) * _env(m, sr, tau, 0.001))
    x = _place(n, times, kernels, rng.uniform(0.8, 1.2, len(times)), sr)
    if echo:
        r = int(rt * sr)
        tail = nrng.standard_normal(r).astype(np.float32) * _env(r, sr, rt / 6.9, 0.005)
        tail = tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
        x = x + wet * 8.0 * _fftconv(x, tail).astype(np.float32)
    rate = _rate_phrase(1.0 / interval)
    pitch = _third(f0, 500.0, 2200.0)
    text = _Text(
        nouns=("water drip", "dripping tap", "leaky tap"),
        quals=[[("low-pitched", "hollow"), (), ("high-pitched", "bright")][pitch]],
        actions=(f"falling {rate} at uneven intervals", f"plinking irregularly, {rate}",
                 f"dropping at an uneven pace, {rate}") if irregular > 0.15 else
        (f"falling {rate} in a steady rhythm", f"plinking {rate} like clockwork",
         f"dropping {rate} at even intervals"),
        details=[("echoing in a reverberant room", "in an echoey space like a cave or bathroom")] if echo else [])
    return _Sound(x, dict(interval_s=interval, irregularity=irregular, f0_hz=f0, glide=glide,
                          echo=echo, drips=len(times)), text)


def _glass_clink(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    f0 = min(_log_uniform(rng, 1800.0, 4200.0), 0.3 * sr)
    other = rng.uniform(0.88, 1.12)
    tau0 = rng.uniform(0.12, 0.5)
    dur = n / sr
    count = int(rng.integers(1, 3 + int(dur / 3)))
    spacing = rng.uniform(0.15, 1.2)
    ratios = np.array([1.0, 2.32, 4.25])
    m = int(min(dur, 7 * tau0) * sr) + 1
    times = _regular_times(rng, _onset(rng, dur, 1.0), spacing, dur - 0.05, 0.15, count) or [0.0]
    kernels = []
    for _ in times:
        k = np.zeros(m, dtype=np.float32)
        for base, level in ((f0, 1.0), (f0 * other, rng.uniform(0.4, 0.9))):
            for r, a in zip(ratios, (1.0, 0.5, 0.25)):
                f = base * r * rng.uniform(0.995, 1.005)
                if f < 0.45 * sr:
                    k += level * a * _sin(_cycles(f, m, sr, rng.uniform())) * _env(m, sr, tau0 / r ** 0.7, 0.0003)
        hit = int(0.001 * sr) + 1
        k[:hit] += 0.5 * nrng.standard_normal(hit).astype(np.float32)
        kernels.append(k)
    x = _place(n, times, kernels, rng.uniform(0.7, 1.0, len(times)), sr)
    c = len(times)
    pitch = _third(f0, 1800.0, 4200.0)
    pace = ("in quick succession", "one right after another") if spacing < 0.5 else ("a little apart", "with short pauses between")
    text = _Text(
        nouns=("glasses clinking", "wine glasses clinking", "glasses chiming together"), det="",
        quals=[[("mid-pitched", "mellow"), ("high-pitched", "bright"), ("very high-pitched", "tinkling")][pitch]],
        actions=("once", "a single time", "just once") if c == 1 else
        (f"{_times(c)}, {pace[0]}", f"{_times(c)}, {pace[1]}", f"{_times(c)} in a toast"),
        details=[("ringing on for a moment", "with a lingering ring") if tau0 > 0.3 else
                 ("with a short ring that fades fast", "fading almost immediately")])
    return _Sound(x, dict(f0_hz=f0, second_glass_ratio=other, decay_s=tau0, clinks=c, spacing_s=spacing), text)


# --------------------------------------------------------------------------- class table
