"""A procedural sound world: labelled, captioned audio that needs no network and no data.

The offline demo task (``synthworld``) and the training corpus of the tiny CLAP model both
come from here. Every clip is synthesised from a small acoustic recipe whose parameters
(pitch, rate, loudness, duration, background noise, onset) are drawn from a seed, so the
classes are acoustically distinct yet vary within themselves the way real recordings do:
zero-shot classification is then neither trivial nor hopeless. Each clip carries a caption
written from the parameters that were actually rendered, plus procedural paraphrases, so a
text encoder trained on them links words ("slow", "high-pitched", "three times") to sounds.

Pure numpy and deterministic: a clip depends only on (label, seed, duration, sample rate),
never on the process (Python's ``hash`` is salted per process, so seeds are derived from
``zlib.crc32`` through ``np.random.SeedSequence``). Filters are FFT-domain masks and all
synthesis is vectorised, so a 10 s clip renders in a few tens of milliseconds.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

SAMPLE_RATE = 22050  # deliberately not a model rate, so the harness's resampler is exercised

MIN_DURATION = 1.5   # drawn durations straddle the usual 5-10 s model window on both sides
MAX_DURATION = 12.0
N_REWRITES = 4
_VERSION = "synthworld-v1"  # mixed into every seed: bump it when recipes change meaning


@dataclass(frozen=True)
class SoundClass:
    """One class of the sound world, as a zero-shot prompt would name it."""

    name: str      # display label used for prompts: plain lower-case words
    summary: str   # one sentence on how it sounds; documentation and prompt-bank material
    synonyms: tuple[str, ...] = ()  # other phrases captions may use to name the source


@dataclass(frozen=True, eq=False)  # eq=False: comparing ndarrays field-wise is ambiguous
class Clip:
    """A rendered clip with the text that describes what was rendered."""

    label: str
    audio: np.ndarray          # float32 mono, finite, 0 < peak <= 1
    caption: str               # canonical description built from the drawn parameters
    rewrites: tuple[str, ...]  # N_REWRITES paraphrases of the caption (stand-in for LLM rewrites)
    params: dict               # the drawn parameters, JSON-safe, for debugging


# --------------------------------------------------------------------------- DSP helpers

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


# --------------------------------------------------------------------------- text helpers

_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve")


def _num(k: int) -> str:
    return _NUMBERS[k] if 0 <= k < len(_NUMBERS) else "many"


def _times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, f"{_num(k)} times" if k < len(_NUMBERS) else "many times")


def _rate_phrase(per_second: float) -> str:
    """'about twice a second', 'about once every three seconds'."""
    if per_second >= 1.5:
        return f"about {_times(int(round(per_second)))} a second"
    every = int(round(1.0 / per_second))
    if every <= 1:
        return "about once a second"
    return "about once every couple of seconds" if every == 2 else f"about once every {_num(every)} seconds"


def _third(x: float, lo: float, hi: float, log: bool = True) -> int:
    """Which third (0, 1, 2) of the class's range a parameter fell in: low/mid/high words."""
    if log:
        x, lo, hi = np.log(x), np.log(lo), np.log(hi)
    return int(np.clip((x - lo) / (hi - lo) * 3.0, 0, 2.999))


def _article(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"


@dataclass
class _Text:
    """Phrase slots for one clip; the first alternative of each slot is the canonical one."""

    nouns: tuple[str, ...]                 # names of the source; [0] is the class name or a synonym
    actions: tuple[str, ...]               # what it does over time, as a trailing participle phrase
    quals: list[tuple[str, ...]] = field(default_factory=list)    # adjective slots
    details: list[tuple[str, ...]] = field(default_factory=list)  # extra clauses
    det: str = "a"                         # "a" (a/an), "" (mass noun, plural) or a number word


@dataclass
class _Sound:
    audio: np.ndarray
    params: dict
    text: _Text


# --------------------------------------------------------------------------- recipes
# Each recipe: (param rng, noise rng, n samples, sample rate) -> _Sound. Parameters in
# seconds and hertz, so the same seed gives the same sound at any sample rate.

_Recipe = Callable[[np.random.Generator, np.random.Generator, int, int], _Sound]


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
    band = 0 if intensity < 0.33 else (2 if intensity > 0.66 else 1)
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
    tempo = 0 if bpm < 68 else (2 if bpm > 92 else 1)
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
    band = 0 if gust < 0.3 else (2 if gust > 0.65 else 1)
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
    band = 0 if size < 0.33 else (2 if size > 0.66 else 1)
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
    band = 0 if crowd < 0.33 else (2 if crowd > 0.66 else 1)
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
    tempo = 0 if bpm < 95 else (2 if bpm > 130 else 1)
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

_TABLE: tuple[tuple[SoundClass, _Recipe], ...] = (
    (SoundClass("siren", "A loud electronic tone sweeping up and down in pitch, as a slow wail, a fast yelp "
                "or a two-note hee-haw.", ("emergency siren", "police siren", "ambulance siren")), _siren),
    (SoundClass("dial tone", "A steady, unbroken telephone tone made of two low notes (350 and 440 Hz) "
                "sounding together.", ("dialling tone", "dialing tone", "telephone dial tone")), _dial_tone),
    (SoundClass("busy signal", "A harsh two-note telephone tone (480 and 620 Hz) beeping on and off in "
                "half-second or quarter-second pulses.", ("busy tone", "engaged tone")), _busy_signal),
    (SoundClass("rain", "A broadband hiss of falling water with many tiny droplet clicks, light and sparse "
                "or heavy and dense.", ("rainfall", "falling rain", "downpour")), _rain),
    (SoundClass("heartbeat", "Low, muffled double thumps (lub-dub) repeating at a resting or racing pulse.",
                ("heart beat", "beating heart", "heart")), _heartbeat),
    (SoundClass("clock tick", "Short, regular mechanical clicks about once or twice a second, alternating "
                "between a higher tick and a lower tock.",
                ("ticking clock", "clock ticking", "clock", "tick-tock")), _clock_tick),
    (SoundClass("engine hum", "A low harmonic drone with a slowly wobbling loudness, steady when idling "
                "and rising in pitch when revved.", ("engine", "idling engine", "motor")), _engine_hum),
    (SoundClass("bird chirp", "Short, high whistles that sweep quickly in pitch, grouped in rapid bursts.",
                ("bird chirping", "chirping bird", "birdsong", "songbird", "bird")), _bird_chirp),
    (SoundClass("church bell", "A large bell struck repeatedly, each strike a rich inharmonic clang that "
                "rings on and fades slowly.", ("bell", "tolling bell", "church bells")), _church_bell),
    (SoundClass("wind", "A rushing, low-pitched noise that swells and fades in gusts, sometimes howling.",
                ("blowing wind", "rushing wind", "breeze", "gust")), _wind),
    (SoundClass("dog bark", "Short, harsh, noisy barks in irregular bursts, deep and gruff from a big dog "
                "or high and yappy from a small one.", ("dog barking", "barking dog", "dog")), _dog_bark),
    (SoundClass("door knock", "Two to four dull, low thumps in a quick group, sometimes repeated after a pause.",
                ("knocks on a door", "knocks at the door", "raps on a door", "knocking")), _door_knock),
    (SoundClass("applause", "Many hands clapping at once: a dense crackle of short noise bursts from a "
                "crowd, or a sparse patter from a few people.", ("clapping", "hand clapping")), _applause),
    (SoundClass("kettle whistle", "A pure, high whistle that rises to a steady piercing note over a breathy "
                "hiss of steam.", ("whistling kettle", "tea kettle", "kettle")), _kettle_whistle),
    (SoundClass("drum beat", "A repeating drum-kit rhythm of kick drum thumps, snare cracks and hi-hat ticks "
                "at a steady tempo.", ("drumbeat", "drum pattern", "drums")), _drum_beat),
    (SoundClass("footsteps", "A regular series of steps, clicking on a hard floor or crunching on gravel, "
                "at a walking or running pace.", ("steps", "footstep", "footfalls", "walking")), _footsteps),
    (SoundClass("water drip", "Single drops of water falling at intervals, each a short hollow plink that "
                "glides up in pitch, often echoing.", ("dripping tap", "leaky tap", "dripping water",
                                                       "water dripping")), _water_drip),
    (SoundClass("glass clink", "Glasses touching: bright, high, bell-like pings that ring briefly and fade.",
                ("glasses clinking", "clinking glasses", "glasses chiming", "clink of glasses")), _glass_clink),
)

CLASSES: tuple[SoundClass, ...] = tuple(c for c, _ in _TABLE)
_RECIPES: dict[str, _Recipe] = {c.name: r for c, r in _TABLE}


# --------------------------------------------------------------------------- captions

_LOUD = {"loud": ("loud", "strong"), "soft": ("soft", "low-volume")}
_LOUD_ADV = {"loud": ("at high volume", "played loudly"), "soft": ("at low volume", "played softly")}
_BG_NOUN = {"hiss": ("hiss", "static hiss"), "rumble": ("low rumble", "background rumble"),
            "noise": ("background noise", "ambient noise")}


def _background_phrases(level: str, kind: str) -> tuple[str, ...]:
    noun, alt = _BG_NOUN[kind]
    a = "" if kind == "noise" else "a "  # "a faint hiss" but "faint background noise"
    if level == "quiet":
        return ("in a quiet setting with almost no background noise", "against a nearly silent background",
                "in a quiet setting", "with a clean, quiet background")
    if level == "faint":
        return (f"over {a}faint {noun}", f"with a little {alt} behind it", f"against {a}light {noun}")
    return (f"in a noisy setting with {a}loud {noun}", f"over {a}heavy {noun}", f"with loud {alt} behind it")


def _noun_phrase(det: str, words: Sequence[str], noun: str) -> str:
    phrase = " ".join([w for w in words if w] + [noun])
    if det == "a":
        det = _article(phrase)
    return f"{det} {phrase}".strip()


def _join(parts: Sequence[str], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _and(words: Sequence[str]) -> str:
    words = [w for w in words if w]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def _write_text(text: _Text, loud: str | None, bg: tuple[str, ...], rng: np.random.Generator
                ) -> tuple[str, tuple[str, ...]]:
    """Canonical caption from the first alternatives; rewrites from four other sentence frames.

    Every frame has a different skeleton (lead words or clause order), so a rewrite can never
    coincide with the caption or with another rewrite whatever synonyms are drawn.
    """
    quals0 = [q[0] for q in text.quals if q]
    loud0 = _LOUD[loud][0] if loud else ""
    caption = _join([f"{_noun_phrase(text.det, [loud0, *quals0], text.nouns[0])} {text.actions[0]}",
                     *[d[0] for d in text.details], bg[0]])

    def pick(options: Sequence[str]) -> str:
        return str(options[int(rng.integers(len(options)))]) if options else ""

    def draw() -> tuple[str, list[str], str, str, list[str], str]:
        details = [pick(d) for d in text.details]
        rng.shuffle(details)
        return (pick(text.nouns), [pick(q) for q in text.quals if q], pick(text.actions),
                pick(_LOUD[loud]) if loud else "", details, pick(bg))

    rewrites = []
    noun, quals, action, lw, details, b = draw()
    said = _and([*quals, lw])
    rewrites.append(_join([f"you can hear {_noun_phrase(text.det, [], noun)} {action}", *details, b])
                    + (f"; it sounds {said}" if said else ""))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([b, f"{_noun_phrase(text.det, [lw, *quals], noun)} {action}", *details]))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([f"the sound of {_noun_phrase(text.det, quals, noun)} {action}", *details,
                           pick(_LOUD_ADV[loud]) if loud else "", b]))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([_noun_phrase(text.det, [lw, *quals], noun), b, action, *details]))
    return caption, tuple(rewrites)


# --------------------------------------------------------------------------- public API

def _crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def _seed_words(seed: int) -> list[int]:
    s = int(seed) % (1 << 64)  # SeedSequence rejects negatives; fold them into the same range
    return [s & 0xFFFFFFFF, s >> 32]


def _check_label(label: str) -> None:
    if label not in _RECIPES:
        raise ValueError(f"unknown synthworld label {label!r}; valid labels: "
                         + ", ".join(c.name for c in CLASSES))


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    return str(value)


def render(label: str, seed: int, duration: float | None = None, sample_rate: int = SAMPLE_RATE) -> Clip:
    """Synthesise one clip of ``label``; a pure function of its arguments.

    Independent random streams drive the duration, the mix (loudness, background), the recipe's
    parameters, sample-level noise and the wording, so fixing ``duration`` or changing the sample
    rate keeps the same pitch, rate and caption vocabulary for a given seed.
    """
    _check_label(label)
    if sample_rate < 2000:
        raise ValueError(f"sample_rate must be at least 2000 Hz, got {sample_rate}")
    ss = np.random.SeedSequence([_crc(_VERSION), _crc(label), *_seed_words(seed)])
    dur_rng, mix_rng, param_rng, noise_rng, text_rng = (np.random.default_rng(s) for s in ss.spawn(5))
    drawn = round(float(dur_rng.uniform(MIN_DURATION, MAX_DURATION)), 3)
    duration = drawn if duration is None else float(duration)
    n = int(round(duration * sample_rate))
    if not np.isfinite(duration) or n < 1:
        raise ValueError(f"duration must be positive and finite, got {duration}")

    snr_db = float(mix_rng.uniform(6.0, 40.0))
    tilt = float(mix_rng.uniform(0.0, 1.8))  # 0 white hiss .. 2 brown rumble
    peak_db = float(mix_rng.uniform(-18.0, -0.5))

    sound = _RECIPES[label](param_rng, noise_rng, n, sample_rate)
    fg = np.asarray(sound.audio, dtype=np.float64)
    rms = float(np.sqrt(np.mean(fg ** 2)))
    fg = fg / rms if rms > 0 else fg
    bg = _coloured_noise(noise_rng, n, sample_rate,
                         lambda f: (np.maximum(f, 20.0) / 1000.0) ** (-tilt / 2.0))
    bg /= float(np.sqrt(np.mean(bg ** 2))) + 1e-12
    mix = fg + bg * 10.0 ** (-snr_db / 20.0)
    peak = float(np.max(np.abs(mix)))
    audio = (mix * (10.0 ** (peak_db / 20.0) / peak)).astype(np.float32)
    audio = np.clip(audio, -1.0, 1.0)

    loud = "soft" if peak_db < -12.0 else ("loud" if peak_db > -5.0 else None)
    level = "quiet" if snr_db >= 30.0 else ("faint" if snr_db >= 16.0 else "noisy")
    kind = "hiss" if tilt < 0.6 else ("rumble" if tilt > 1.3 else "noise")
    caption, rewrites = _write_text(sound.text, loud, _background_phrases(level, kind), text_rng)

    params = {"label": label, "seed": int(seed), "duration_s": duration, "sample_rate": int(sample_rate),
              "snr_db": snr_db, "background": kind, "background_level": level, "noise_tilt": tilt,
              "peak_db": peak_db, "loudness": loud or "moderate", **sound.params}
    return Clip(label=label, audio=audio, caption=caption, rewrites=rewrites, params=_jsonable(params))


def clip_seed(seed: int, split: str, label: str, index: int) -> int:
    """The render seed of clip ``index`` of ``label`` in ``split``: the split is part of the seed,
    so "train" and "test" never share a clip."""
    ss = np.random.SeedSequence([_crc(_VERSION), *_seed_words(seed), _crc(split), _crc(label), int(index)])
    lo, hi = ss.generate_state(2, dtype=np.uint32)
    return int(lo) | (int(hi) << 32)


def slug(label: str) -> str:
    """Label as it appears in clip ids: no spaces, so ids stay single tokens in paths and logs."""
    return "-".join(label.lower().split())


def generate(n_per_class: int, seed: int, split: str = "test") -> Iterator[tuple[str, Clip]]:
    """All classes, ``n_per_class`` clips each, in class order then index, with stable ids."""
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be >= 0, got {n_per_class}")
    for cls in CLASSES:
        for i in range(n_per_class):
            yield f"{split}-{slug(cls.name)}-{i:04d}", render(cls.name, clip_seed(seed, split, cls.name, i))
