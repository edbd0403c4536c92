"""Scenes: the ambience a sound world event happens in, and the words captions use for it.

The prototype of the tiny CLAP showed that the paper's scene-placed prompts ("... on a busy
street at night") mean nothing to a model whose training captions never name a scene. So every
clip is mixed over an ambience (street traffic, a reverberant room, a forest, rain, crowd
babble, or near silence) at a drawn event-to-scene ratio, and its caption says where it is.
Each ambience is synthesised from the scene's own ingredients, never from a class recipe, so a
scene cannot smuggle another class's sound into a clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from zsbench.synthworld.dsp import (_butter_gain, _coloured_noise, _cycles, _env, _fftconv, _filter,
                                    _log_uniform, _peak_gain, _smooth_random, _wavetable)


@dataclass(frozen=True)
class Scene:
    """An ambience and its caption phrases (first one canonical); ``reverb`` wets the event too."""

    name: str
    phrases: tuple[str, ...]
    weight: float
    reverb: bool = False


SCENES: tuple[Scene, ...] = (
    Scene("street", ("on a busy street with traffic passing by", "beside a road with cars driving past",
                     "outdoors near heavy city traffic", "in a noisy street with engines going by"), 1.0),
    Scene("room", ("inside a small echoing room", "indoors in a room with hard walls",
                   "in a reverberant room", "inside a house, with the room echoing"), 1.0, reverb=True),
    Scene("forest", ("out in a forest with leaves rustling", "in the woods among rustling trees",
                     "outdoors in a quiet forest", "among trees with leaves stirring"), 1.0),
    Scene("rain", ("outdoors during a rain shower", "with rain pattering all around",
                   "outside in wet, rainy weather", "under a steady drizzle"), 1.0),
    Scene("crowd", ("in a crowd of people talking", "amid the chatter of many voices",
                    "in a busy hall full of chatting people", "with a murmuring crowd around it"), 1.0),
    Scene("quiet", ("in a quiet place with almost no background noise", "against a nearly silent background",
                    "in a quiet setting", "with a clean, quiet background"), 0.8),
)
SCENE_NAMES = tuple(s.name for s in SCENES)
# A class never gets a scene made of itself (a rain clip "in the rain" says nothing).
EXCLUDED: dict[str, frozenset[str]] = {"rain": frozenset({"rain"})}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / (float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)).astype(np.float32)


def _street(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    rumble = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 30.0, 400.0, 2))
    swell = np.zeros(n, dtype=np.float32)  # cars passing: slow bumps of broadband tyre noise
    t = np.arange(n) / sr
    for _ in range(int(rng.integers(1, 4 + n // (3 * sr)))):
        centre, width = rng.uniform(0, n / sr), rng.uniform(0.8, 2.5)
        swell += np.exp(-0.5 * ((t - centre) / width) ** 2).astype(np.float32) * rng.uniform(0.5, 1.5)
    tyres = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 200.0, 3000.0, 1))
    return _unit(_unit(rumble) + 0.8 * swell * _unit(tyres))


def _room(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    tone = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 40.0, 2000.0, 1) * (
        1.0 + 2.0 * _peak_gain(f, float(rng.uniform(90.0, 130.0)), 8.0)))  # ventilation hum
    return _unit(tone)


def _forest(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    leaves = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 1500.0, min(9000.0, 0.45 * sr), 2))
    gusts = np.clip(0.6 + 0.5 * _smooth_random(rng, n, sr, 0.7), 0.05, None)
    flutter = np.clip(1.0 + 0.8 * _smooth_random(rng, n, sr, 12.0), 0.0, None)
    air = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 60.0, 500.0, 1))
    return _unit(_unit(leaves) * gusts * flutter + 0.3 * _unit(air))


def _rain(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    bed = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 300.0, min(7000.0, 0.45 * sr), 1))
    train = np.zeros(n)
    count = int(rng.poisson(60.0 * n / sr))
    np.add.at(train, rng.integers(0, n, count), rng.uniform(0.1, 1.0, count) ** 2)
    klen = max(1, int(0.004 * sr))
    ticks = _fftconv(train, rng.standard_normal(klen) * _env(klen, sr, 0.001, 0.0002))
    return _unit(_unit(bed) + 0.6 * _unit(ticks))


def _crowd(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Babble: several voiced buzzes with wandering pitch and syllable-rate loudness, formant-shaped."""
    out = np.zeros(n, dtype=np.float32)
    amps = 1.0 / np.arange(1, 25) ** 1.2
    for _ in range(int(rng.integers(5, 10))):
        f0 = _log_uniform(rng, 95.0, 260.0) * np.exp2(0.15 * _smooth_random(rng, n, sr, 3.0))
        amps_ok = amps * (np.arange(1, 25) * 1.2 * f0.max() < 0.45 * sr)
        syll = np.clip(_smooth_random(rng, n, sr, float(rng.uniform(3.0, 6.0))), 0.0, None)
        out += _wavetable(_cycles(f0, n, sr, float(rng.uniform())), amps_ok) * syll * float(rng.uniform(0.4, 1.0))
    formants = [float(rng.uniform(lo, hi)) for lo, hi in ((400.0, 800.0), (1000.0, 1800.0), (2200.0, 3000.0))]
    voiced = _filter(out, sr, lambda f: sum(_peak_gain(f, c, 4.0) for c in formants))
    breath = _coloured_noise(rng, n, sr, lambda f: _butter_gain(f, 300.0, 4000.0, 1))
    return _unit(_unit(voiced) + 0.15 * _unit(breath))


def _quiet(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return _unit(_coloured_noise(rng, n, sr, lambda f: (np.maximum(f, 20.0) / 1000.0) ** -0.5))


AMBIENCES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "street": _street, "room": _room, "forest": _forest, "rain": _rain, "crowd": _crowd, "quiet": _quiet}


def draw_scene(rng: np.random.Generator, label: str) -> Scene:
    allowed = [s for s in SCENES if s.name not in EXCLUDED.get(label, ())]
    w = np.array([s.weight for s in allowed])
    return allowed[int(rng.choice(len(allowed), p=w / w.sum()))]


def reverberate(x: np.ndarray, rng: np.random.Generator, sr: int, rt60: float, wet: float) -> np.ndarray:
    """A room's echo on the event: exponentially decaying noise tail, mixed with the dry sound."""
    m = max(1, int(rt60 * sr))
    tail = rng.standard_normal(m).astype(np.float32) * _env(m, sr, rt60 / 6.9, 0.003)
    tail /= float(np.sqrt(np.sum(tail ** 2))) + 1e-12
    return (x + wet * _fftconv(x, tail)).astype(np.float32)


def ambience(scene: Scene, rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Unit-RMS ambience of ``scene``, ``n`` samples at ``sr``."""
    return AMBIENCES[scene.name](rng, n, sr)
