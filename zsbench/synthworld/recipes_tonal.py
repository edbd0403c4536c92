"""Recipes for tonal sources: sirens, telephone tones, kettle whistle, engine, bird, bell.

Each recipe: (param rng, noise rng, n samples, sample rate) -> ``_Sound``. Parameters in
seconds and hertz, so the same seed gives the same sound at any sample rate."""

from __future__ import annotations

import numpy as np

from zsbench.synthworld.dsp import (
    _TWO_PI,
    _butter_gain,
    _cycles,
    _env,
    _fast_len,
    _filter,
    _freqs,
    _harmonic_amps,
    _log_uniform,
    _onset,
    _place,
    _ramp_db,
    _regular_times,
    _sin,
    _smooth_random,
    _wavetable,
)
from zsbench.synthworld.text import _num, _Sound, _Text, _third, _times


def _siren(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    centre = _log_uniform(rng, 550.0, 1150.0)
    mode = str(rng.choice(["wail", "yelp", "hi-lo"], p=[0.45, 0.35, 0.2]))
    rate = {"wail": rng.uniform(0.12, 0.35), "yelp": rng.uniform(2.5, 5.0),
            "hi-lo": rng.uniform(0.6, 1.1)}[mode]
    depth = rng.uniform(0.3, 0.45) if mode == "hi-lo" else rng.uniform(0.45, 0.85)  # octaves
    phase = rng.uniform()
    slope = rng.uniform(0.9, 2.0)
    distance = str(rng.choice(["steady", "approaching", "receding"], p=[0.5, 0.25, 0.25]))
    ph = phase + rate * np.arange(n) / sr
    if mode == "wail":
        s = -np.cos(_TWO_PI * ph)
    elif mode == "yelp":
        s = 2.0 * (ph % 1.0) ** 0.6 - 1.0
    else:
        s = np.tanh(8.0 * np.sin(_TWO_PI * ph))
    freq = centre * 2.0 ** (0.5 * depth * s)
    x = _wavetable(_cycles(freq, n, sr, rng.uniform()), _harmonic_amps(8, freq.max(), sr, slope))
    if distance != "steady":
        x = x * _ramp_db(n, -14.0, 0.0)[:: 1 if distance == "approaching" else -1]
    pitch = _third(centre, 550.0, 1150.0)
    text = _Text(
        nouns=("siren", "emergency siren", "police siren"),
        quals=[[("low-pitched", "deep"), ("mid-pitched", "medium-pitched"),
                ("high-pitched", "shrill")][pitch]],
        actions={"wail": ("slowly rising and falling", "sweeping slowly up and down",
                          "wailing in long slow sweeps"),
                 "yelp": ("rapidly whooping up and down", "yelping in fast repeated sweeps",
                          "quickly sweeping up and down"),
                 "hi-lo": ("alternating between two notes",
                           "switching back and forth between a high and a low tone",
                           "sounding a two-tone hee-haw")}[mode],
        details=[{"approaching": ("getting closer", "growing louder as it approaches"),
                  "receding": ("moving away", "fading as it passes into the distance")}[distance]]
        if distance != "steady" else [])
    return _Sound(x, dict(centre_hz=centre, mode=mode, rate_hz=rate, depth_octaves=depth,
                          distance=distance), text)


def _line_tone(rng: np.random.Generator, n: int, sr: int, freqs: tuple[float, float], balance: float,
               drive: float) -> np.ndarray:
    """Two-tone telephone signal, slightly overdriven and band-limited like a phone line."""
    x = _sin(_cycles(freqs[0], n, sr, rng.uniform())) + balance * _sin(_cycles(freqs[1], n, sr, rng.uniform()))
    x = np.tanh(drive * x) / np.tanh(drive * (1.0 + balance))
    return _filter(x, sr, lambda f: _butter_gain(f, 280.0, 3400.0, 2))


def _dial_tone(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    balance = rng.uniform(0.7, 1.0)
    drive = rng.uniform(0.3, 2.0)
    pickup = bool(rng.uniform() < 0.5)
    start = _onset(rng, n / sr, 0.6) if pickup else 0.0
    x = _line_tone(rng, n, sr, (350.0, 440.0), balance, drive)
    s = int(start * sr)
    x[:s] = 0.0
    x[s:] *= 1.0 - np.exp(-np.arange(n - s) / (0.01 * sr))
    if pickup:
        click = nrng.standard_normal(int(0.01 * sr)) * _env(int(0.01 * sr), sr, 0.002, 0.0003)
        x = x + 2.0 * _place(n, [max(0.0, start - 0.03)], click.astype(np.float32), sr=sr)
    text = _Text(
        nouns=("dial tone", "telephone dial tone", "dialling tone"),
        quals=[("slightly distorted", "buzzy")] if drive > 1.4 else [],
        actions=("humming steadily", "holding one continuous steady note", "sounding without a break"),
        details=[("a blend of two low notes", "two mellow tones sounding together")]
        + ([("after the click of a handset being lifted", "starting with a click as the phone is picked up")]
           if pickup else []))
    return _Sound(x, dict(freqs_hz=[350.0, 440.0], balance=balance, drive=drive, pickup=pickup,
                          start_s=start), text)


def _busy_signal(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    fast = bool(rng.uniform() < 0.4)
    half = 0.25 if fast else 0.5   # on and off times (North American busy / reorder cadence)
    period = 2 * half
    shift = rng.uniform(0.0, period)
    x = _line_tone(rng, n, sr, (480.0, 620.0), rng.uniform(0.7, 1.0), rng.uniform(0.3, 1.5))
    u = (np.arange(n) / sr + shift) % period
    ramp = 0.005
    gate = np.clip(u / ramp, 0, 1) * np.clip((half - u) / ramp, 0, 1)
    x = x * gate
    beeps = int(np.count_nonzero(np.diff(np.concatenate([[0.0], (gate > 0.5).astype(float)])) > 0))
    speed = ("beeping rapidly on and off, twice a second", "pulsing in quick quarter-second beeps",
             "repeating fast short beeps") if fast else (
        "beeping on and off about once a second", "pulsing in half-second beeps",
        "repeating a beep once a second")
    text = _Text(
        nouns=("busy signal", "busy tone", "engaged tone"),
        actions=speed,
        details=[("a harsh two-note tone", "two clashing tones sounding together"),
                 (f"{_num(beeps)} beeps in all", f"{_num(beeps)} beeps altogether")] if beeps < 13
        else [("a harsh two-note tone", "two clashing tones sounding together")],
        quals=[("fast", "rapid")] if fast else [])
    return _Sound(x, dict(freqs_hz=[480.0, 620.0], on_off_s=half, beeps=beeps), text)


def _engine_hum(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    f0 = _log_uniform(rng, 30.0, 60.0)
    revving = bool(rng.uniform() < 0.35)
    wobble_rate, wobble_depth = rng.uniform(0.2, 1.5), rng.uniform(0.1, 0.45)
    slope = rng.uniform(0.6, 1.1)
    cutoff = rng.uniform(500.0, 1500.0)
    rumble = rng.uniform(0.1, 0.35)
    dur = n / sr
    t = np.arange(n) / sr
    if revving:
        width = min(rng.uniform(1.5, 4.0), 0.8 * dur)
        centre = rng.uniform(0.5 * width, max(0.5 * width, dur - 0.5 * width))
        amount = rng.uniform(0.4, 1.0)
        u = np.clip((t - centre) / width + 0.5, 0.0, 1.0)
        freq = f0 * (1.0 + amount * 0.5 * (1.0 - np.cos(_TWO_PI * u)))
    else:
        amount = 0.0
        freq = f0 * (1.0 + 0.01 * _smooth_random(nrng, n, sr, 0.5))
    amps = _harmonic_amps(40, float(np.max(freq)), sr, slope) * rng.uniform(0.5, 1.5, 40)
    amps[1::2] *= 1.5  # even harmonics: a four-stroke firing order
    x = _wavetable(_cycles(freq, n, sr, rng.uniform()), amps)
    x = x / (np.abs(x).max() + 1e-12) + rumble * nrng.standard_normal(n).astype(np.float32)
    x = _filter(x, sr, lambda f: _butter_gain(f, 20.0, cutoff, 2))
    x *= 1.0 + wobble_depth * np.sin(_TWO_PI * wobble_rate * t + rng.uniform(0, _TWO_PI)).astype(np.float32)
    pitch = _third(f0, 30.0, 60.0)
    text = _Text(
        nouns=("engine hum", "engine", "motor"),
        det="a",
        quals=[[("deep", "very low"), ("low", "low-pitched"), ("buzzy", "rougher")][pitch]],
        actions=("revving up and settling back down", "rising in pitch as it revs, then falling back",
                 "surging briefly before easing off") if revving else
        ("droning steadily", "idling with a steady rumble", "humming at a constant low pitch"),
        details=[("with only a slight wobble in loudness", "barely wavering in volume") if wobble_depth < 0.2
                 else (("with a slow wobble in loudness", "slowly pulsing in volume") if wobble_rate < 0.7
                       else ("with a quick throbbing wobble", "throbbing rapidly in volume"))])
    return _Sound(x, dict(f0_hz=f0, revving=revving, rev_amount=amount, wobble_hz=wobble_rate,
                          wobble_depth=wobble_depth, cutoff_hz=cutoff), text)


def _bird_chirp(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    fc = min(_log_uniform(rng, 2200.0, 5000.0), 0.35 * sr)
    style = str(rng.choice(["down", "up", "trill"]))
    sweep = rng.uniform(0.4, 1.0)  # octaves
    chirp_len = rng.uniform(0.03, 0.11)
    dur = n / sr
    starts, lengths = [], []
    t = _onset(rng, dur, 0.8)
    bursts = 0
    while t < dur:
        bursts += 1
        for _ in range(int(rng.integers(2, 8))):
            if t >= dur:
                break
            length = chirp_len * rng.uniform(0.85, 1.15)
            starts.append(t)
            lengths.append(length)
            t += length + rng.uniform(0.02, 0.08)
        t += rng.uniform(0.4, 2.0)
    kernels = []
    for length in lengths:
        m = max(2, int(length * sr))
        u = np.linspace(0.0, 1.0, m)
        f0 = fc * rng.uniform(0.93, 1.07)
        if style == "down":
            freq = f0 * 2.0 ** (sweep * (0.5 - u))
        elif style == "up":
            freq = f0 * 2.0 ** (sweep * (u - 0.5))
        else:
            freq = f0 * (1.0 + 0.08 * np.sin(_TWO_PI * 45.0 * u * length))
        c = _cycles(freq, m, sr)
        k = _sin(c) + (0.12 * _sin(2.0 * c) if 2.0 * freq.max() < 0.45 * sr else 0.0)
        kernels.append((k * np.sin(np.pi * u) ** 2).astype(np.float32))
    x = _place(n, starts, kernels, rng.uniform(0.6, 1.0, len(starts)), sr)
    pitch = _third(fc, 2200.0, 5000.0)
    bw = _num(bursts)
    text = _Text(
        nouns=("bird chirping", "songbird chirping", "small bird chirping"),
        quals=[[("clear",), ("high-pitched", "high"), ("very high-pitched", "piercing")][pitch]],
        actions=(f"in {bw} quick bursts of whistles", f"in {bw} short volleys",
                 f"with {bw} rapid flurries of notes") if bursts > 1 else
        ("in one quick burst of whistles", "in a single short volley", "with one rapid flurry of notes"),
        details=[{"down": ("each chirp a quick downward whistle", "with short falling notes"),
                  "up": ("each chirp a quick rising whistle", "with short upward-sweeping notes"),
                  "trill": ("with rapid trilling notes", "in fluttering trills")}[style]])
    return _Sound(x, dict(centre_hz=fc, style=style, sweep_octaves=sweep, chirp_s=chirp_len,
                          bursts=bursts, chirps=len(starts)), text)


def _church_bell(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    f0 = _log_uniform(rng, 180.0, 700.0)
    ratios = np.array([0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.2]) * (1.0 + 0.004 * rng.standard_normal(8))
    amps = np.array([0.6, 1.0, 0.7, 0.4, 0.6, 0.3, 0.25, 0.15]) * rng.uniform(0.6, 1.3, 8)
    t60 = rng.uniform(2.5, 7.0)
    interval = rng.uniform(1.5, 4.0)
    max_strikes = int(rng.integers(1, 9))
    dur = n / sr
    times = _regular_times(rng, _onset(rng, dur, 0.5), interval, dur - 0.2, 0.02, max_strikes) or [0.0]
    length = n - int(times[0] * sr)
    kernel = np.zeros(length, dtype=np.float32)
    for r, a in zip(ratios, amps):
        f = f0 * r
        if f >= 0.45 * sr:
            continue
        tau = t60 / 6.9 * (0.5 / r) ** 0.6
        m = min(length, int(7.0 * tau * sr) + 1)
        kernel[:m] += a * _sin(_cycles(f, m, sr, rng.uniform())) * _env(m, sr, tau, 0.001)
    hit = min(length, int(0.006 * sr) + 1)
    kernel[:hit] += 0.4 * nrng.standard_normal(hit).astype(np.float32) * np.linspace(1, 0, hit, dtype=np.float32)
    x = _place(n, times, kernel, rng.uniform(0.85, 1.15, len(times)), sr)
    k = len(times)
    pitch = _third(f0, 180.0, 700.0)
    details = [("its tone slowly fading", "ringing on for a long time") if t60 > 4.5 else
               ("its ring dying away fairly quickly", "each toll fading fast")]
    if k > 1:
        details.append(("with long pauses between strikes", "slowly and solemnly") if interval > 3.0 else
                       (("in quick succession", "one toll hard on the heels of the last") if interval < 2.2
                        else ("at a measured pace", "with even gaps between tolls")))
    text = _Text(
        nouns=("church bell", "bell", "tolling bell"),
        quals=[[("deep", "low-pitched"), (), ("bright", "high-pitched")][pitch]],
        actions=("struck once and left ringing", "rung a single time", "sounding a single toll") if k == 1
        else (f"struck {_times(k)}", f"tolling {_times(k)}", f"ringing out {_times(k)}"),
        details=details)
    return _Sound(x, dict(f0_hz=f0, t60_s=t60, interval_s=interval, strikes=k), text)


def _kettle_whistle(rng: np.random.Generator, nrng: np.random.Generator, n: int, sr: int) -> _Sound:
    f_end = min(_log_uniform(rng, 1400.0, 3200.0), 0.35 * sr)
    start_ratio = rng.uniform(0.6, 0.85)
    dur = n / sr
    rise = min(rng.uniform(0.5, 3.0), 0.6 * dur)
    onset = _onset(rng, dur, 1.5)
    breath = rng.uniform(0.15, 0.6)
    two_tone = bool(rng.uniform() < 0.3)
    detune = rng.uniform(1.03, 1.08)
    vib_rate, vib_depth = rng.uniform(4.0, 9.0), rng.uniform(0.002, 0.01)
    t = np.arange(n) / sr
    since = np.maximum(t - onset, 0.0)
    freq = f_end * (1.0 - (1.0 - start_ratio) * np.exp(-since / (rise / 3.0)))
    freq *= 1.0 + vib_depth * np.sin(_TWO_PI * vib_rate * t)
    amp = np.where(t >= onset, 1.0 - np.exp(-since / (rise / 2.0)), 0.0).astype(np.float32)
    amp *= 1.0 + 0.1 * _smooth_random(nrng, n, sr, 6.0)
    c = _cycles(freq, n, sr)
    tone = _sin(c) + 0.15 * _sin(2.0 * c)
    if two_tone:
        tone = tone + 0.6 * _sin(c * detune)
    length = _fast_len(n)
    spec = np.fft.rfft(nrng.standard_normal(length))
    f = _freqs(length, sr)
    hiss_band = np.fft.irfft(spec * _butter_gain(f, 0.7 * f_end, min(1.4 * f_end, 0.45 * sr), 2), length)[:n]
    hiss_high = np.fft.irfft(spec * _butter_gain(f, 2000.0, None, 2), length)[:n]
    hiss = (hiss_band / (hiss_band.std() + 1e-12) + 0.4 * hiss_high / (hiss_high.std() + 1e-12))
    steam = np.clip(0.2 + t / max(onset, 1e-3) * 0.5, 0.0, 1.0)  # steam hisses before the whistle
    x = amp * tone + breath * hiss * np.maximum(amp, 0.3 * steam)
    pitch = _third(f_end, 1400.0, 3200.0)
    text = _Text(
        nouns=("kettle whistle", "whistling kettle", "tea kettle"),
        quals=[[("mid-pitched", "mellower"), ("high-pitched", "high"), ("very high-pitched", "piercing")][pitch]],
        actions=("quickly rising to a steady note", "shooting up to a constant pitch",
                 "climbing fast to a steady tone") if rise < 1.2 else
        ("slowly rising to a steady note", "gradually climbing to a constant pitch",
         "slowly building up to a steady tone"),
        details=[("with lots of breathy steam noise", "with a rushing hiss of steam") if breath > 0.35
                 else ("with a little breathy hiss", "with a slight hiss of steam")]
        + ([("with two slightly clashing whistle notes", "warbling as two tones beat against each other")]
           if two_tone else []))
    return _Sound(x, dict(final_hz=f_end, start_ratio=start_ratio, rise_s=rise, onset_s=onset,
                          breathiness=breath, two_tone=two_tone), text)
