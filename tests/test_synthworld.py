"""The procedural sound world: valid audio, reproducibility, honest captions, and a task that is
learnable from the acoustics yet not trivial."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zsbench import synthworld as sw

NAMES = [c.name for c in sw.CLASSES]
SR = sw.SAMPLE_RATE
REPO = Path(__file__).resolve().parents[1]


def _digest(clip: sw.Clip) -> str:
    h = hashlib.sha256(clip.audio.tobytes())
    h.update(clip.caption.encode())
    for r in clip.rewrites:
        h.update(r.encode())
    return h.hexdigest()


def _names_for(label: str) -> tuple[str, ...]:
    cls = next(c for c in sw.CLASSES if c.name == label)
    return (cls.name, *cls.synonyms)


def _power_spectrum(audio: np.ndarray, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    x = audio.astype(np.float64)
    return np.fft.rfftfreq(len(x), 1.0 / sr), np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2


def _frames(audio: np.ndarray, frame: int, hop: int) -> np.ndarray:
    if len(audio) < frame:
        audio = np.pad(audio, (0, frame - len(audio)))
    idx = np.arange(0, len(audio) - frame + 1, hop)[:, None] + np.arange(frame)
    return audio[idx].astype(np.float64) * np.hanning(frame)


def _band_features(audio: np.ndarray, sr: int = SR) -> np.ndarray:
    """Mean log energy in 32 log-spaced bands, level-normalised: the simplest 'embedding'."""
    spec = np.abs(np.fft.rfft(_frames(audio, 1024, 512), axis=1)) ** 2
    f = np.fft.rfftfreq(1024, 1.0 / sr)
    edges = np.geomspace(60.0, 10000.0, 33)
    member = (f[:, None] >= edges[None, :-1]) & (f[:, None] < edges[None, 1:])  # (freq, band)
    v = np.log(spec.mean(0) @ member + 1e-10)
    return v - v.mean()


# ----------------------------------------------------------------------------- the class table

def test_class_table():
    assert len(sw.CLASSES) >= 14
    assert len(set(NAMES)) == len(NAMES)
    for c in sw.CLASSES:
        assert re.fullmatch(r"[a-z]+( [a-z]+)*", c.name), c.name
        assert c.summary.strip().endswith(".") and len(c.summary.split()) >= 6
        assert c.name not in c.synonyms


@pytest.mark.parametrize("label", NAMES)
def test_every_class_renders_valid_audio(label):
    for duration, sr in ((3.0, SR), (0.4, SR), (2.0, 16000)):
        clip = sw.render(label, 11, duration=duration, sample_rate=sr)
        a = clip.audio
        assert clip.label == label
        assert a.dtype == np.float32 and a.ndim == 1
        assert len(a) == round(duration * sr)
        assert np.isfinite(a).all()
        assert 0.0 < np.abs(a).max() <= 1.0
        json.dumps(clip.params)  # JSON-safe for debugging dumps
        assert clip.params["label"] == label and clip.params["sample_rate"] == sr
    drawn = sw.render(label, 11)
    assert sw.MIN_DURATION <= len(drawn.audio) / SR <= sw.MAX_DURATION + 1.0 / SR


def test_bad_arguments():
    with pytest.raises(ValueError, match="valid labels") as err:
        sw.render("cat meow", 0)
    assert "siren" in str(err.value) and "dial tone" in str(err.value)
    with pytest.raises(ValueError):
        sw.render("siren", 0, duration=0.0)
    with pytest.raises(ValueError):
        sw.render("siren", 0, duration=-1.0)
    with pytest.raises(ValueError):
        list(sw.generate(-1, 0))


# ----------------------------------------------------------------------------- determinism

def test_same_seed_same_clip_different_seed_different_clip():
    for label in NAMES:
        a, b = sw.render(label, 3, duration=2.0), sw.render(label, 3, duration=2.0)
        assert a.audio.tobytes() == b.audio.tobytes()
        assert (a.caption, a.rewrites, a.params) == (b.caption, b.rewrites, b.params)
        c = sw.render(label, 4, duration=2.0)
        assert a.audio.tobytes() != c.audio.tobytes()
    # the drawn duration is part of the seed too
    assert sw.render("rain", 5).audio.tobytes() == sw.render("rain", 5).audio.tobytes()


_CHILD = """
import hashlib
from zsbench import synthworld as sw
h = hashlib.sha256()
for label in ("siren", "rain", "church bell", "glass clink"):
    c = sw.render(label, 17)
    h.update(c.audio.tobytes()); h.update(c.caption.encode()); h.update("|".join(c.rewrites).encode())
for c in sw.CLASSES:
    for i in range(3):
        h.update(str(sw.clip_seed(99, "train", c.name, i)).encode())
print(h.hexdigest())
"""


def _parent_digest() -> str:
    h = hashlib.sha256()
    for label in ("siren", "rain", "church bell", "glass clink"):
        c = sw.render(label, 17)
        h.update(c.audio.tobytes())
        h.update(c.caption.encode())
        h.update("|".join(c.rewrites).encode())
    for c in sw.CLASSES:
        for i in range(3):
            h.update(str(sw.clip_seed(99, "train", c.name, i)).encode())
    return h.hexdigest()


def test_determinism_across_processes():
    """Seeds must not depend on Python's per-process string hashing."""
    hashseed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"  # differ from this process
    env = {**os.environ, "PYTHONHASHSEED": hashseed,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _parent_digest()


def test_fixed_duration_keeps_the_drawn_parameters():
    """Fixing the duration or the rate changes the length, not what the clip is."""
    free = sw.render("heartbeat", 8)
    fixed = sw.render("heartbeat", 8, duration=4.0)
    other_rate = sw.render("heartbeat", 8, duration=4.0, sample_rate=16000)
    for key in ("bpm", "lub_hz", "snr_db", "peak_db"):
        assert free.params[key] == fixed.params[key] == other_rate.params[key]


# ----------------------------------------------------------------------------- the generated sets

SEED = 2024


@pytest.fixture(scope="module")
def train():
    return list(sw.generate(8, SEED, "train"))


@pytest.fixture(scope="module")
def test_split():
    return list(sw.generate(4, SEED, "test"))


def test_generate_order_and_ids(test_split):
    ids = [cid for cid, _ in test_split]
    assert len(ids) == 4 * len(NAMES) and len(set(ids)) == len(ids)
    expected = [f"test-{sw.slug(name)}-{i:04d}" for name in NAMES for i in range(4)]
    assert ids == expected
    assert [c.label for _, c in test_split] == [name for name in NAMES for _ in range(4)]
    assert sw.slug("dial tone") == "dial-tone"
    cid, first = next(iter(sw.generate(4, SEED, "test")))
    assert cid == ids[0] and first.audio.tobytes() == test_split[0][1].audio.tobytes()
    again = sw.render(NAMES[0], sw.clip_seed(SEED, "test", NAMES[0], 0))
    assert again.audio.tobytes() == first.audio.tobytes()


def test_splits_share_no_clip(train, test_split):
    train_hashes = {hashlib.sha256(c.audio.tobytes()).hexdigest() for _, c in train}
    test_hashes = {hashlib.sha256(c.audio.tobytes()).hexdigest() for _, c in test_split}
    assert len(train_hashes) == len(train) and len(test_hashes) == len(test_split)
    assert not train_hashes & test_hashes
    assert sw.clip_seed(SEED, "train", "rain", 0) != sw.clip_seed(SEED, "test", "rain", 0)
    # a different master seed gives a different test set
    other = next(iter(sw.generate(1, SEED + 1, "test")))[1]
    assert other.audio.tobytes() != test_split[0][1].audio.tobytes()


def test_durations_straddle_the_model_window(train, test_split):
    durations = np.array([len(c.audio) / SR for _, c in train + test_split])
    assert durations.min() >= sw.MIN_DURATION - 1e-9 and durations.max() <= sw.MAX_DURATION + 1e-9
    assert (durations < 5.0).mean() > 0.15 and (durations > 10.0).mean() > 0.05


def test_captions_name_the_class_and_vary(train, test_split):
    clips = [c for _, c in train + test_split]
    for c in clips:
        names = _names_for(c.label)
        assert any(n in c.caption for n in names), c.caption
        assert len(c.rewrites) == sw.N_REWRITES == 4
        assert len({c.caption, *c.rewrites}) == 5, (c.caption, c.rewrites)
        for r in c.rewrites:
            assert r.strip() and any(n in r for n in names), r
    assert len({c.caption for c in clips}) > 0.8 * len(clips)
    for name in NAMES:
        assert len({c.caption for c in clips if c.label == name}) >= 3, name


def test_captions_describe_what_was_rendered(train, test_split):
    for c in (c for _, c in train + test_split):
        words = set(re.findall(r"[a-z-]+", c.caption))
        p = c.params
        if p["loudness"] in ("loud", "soft"):
            assert p["loudness"] in words, c.caption
        else:
            assert not {"loud", "soft"} & set(c.caption.split(",")[0].split()), c.caption
        scene = next(s for s in sw.SCENES if s.name == p["scene"])
        assert scene.phrases[0] in c.caption, c.caption  # the canonical caption names the scene
        assert sum(any(ph in r for ph in scene.phrases) for r in c.rewrites) == len(c.rewrites), c.rewrites
        if c.label in ("heartbeat", "drum beat"):
            assert str(int(5 * round(p["bpm"] / 5))) in c.caption
        if c.label == "church bell":
            k = p["strikes"]
            assert ("once" in words) if k == 1 else (sw._times(k) in c.caption), c.caption
        if c.label == "siren":
            assert {"wail": "slowly", "yelp": "rapidly", "hi-lo": "two notes"}[p["mode"]] in c.caption


# ----------------------------------------------------------------------------- acoustics

def _top_peaks(freqs: np.ndarray, power: np.ndarray, k: int, guard_hz: float = 20.0) -> list[float]:
    power = power.copy()
    peaks = []
    for _ in range(k):
        i = int(np.argmax(power))
        peaks.append(float(freqs[i]))
        power[np.abs(freqs - freqs[i]) < guard_hz] = 0.0
    return peaks


def _frame_spectra(audio: np.ndarray, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    return np.fft.rfftfreq(2048, 1.0 / sr), np.abs(np.fft.rfft(_frames(audio, 2048, 1024), axis=1)) ** 2


def _pitch_centre_track(audio: np.ndarray, sr: int = SR) -> np.ndarray:
    """Per-frame spectral centroid over 150 Hz - 4 kHz, in octaves: where the tone sits."""
    f, spec = _frame_spectra(audio, sr)
    band = (f > 150) & (f < 4000)
    return np.log2(((spec[:, band] * f[band]).sum(1) + 1e-30) / (spec[:, band].sum(1) + 1e-30))


def _fraction_below(audio: np.ndarray, cutoff: float) -> float:
    f, p = _power_spectrum(audio)
    return float(p[f < cutoff].sum() / p.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_telephone_tones_sit_at_their_frequencies(seed):
    dial = sw.render("dial tone", seed, duration=3.0).audio
    assert sorted(_top_peaks(*_power_spectrum(dial), 2)) == pytest.approx([350.0, 440.0], abs=3.0)
    busy = sw.render("busy signal", seed, duration=3.0).audio
    assert sorted(_top_peaks(*_power_spectrum(busy), 2)) == pytest.approx([480.0, 620.0], abs=3.0)


def _dry(label: str, seed: int, duration: float):
    """The recipe's own output, before the scene is mixed under it (a crowd's voices have pitch too)."""
    rngs = [np.random.default_rng([seed, k]) for k in range(2)]
    return sw.RECIPES[label](*rngs, int(duration * SR), SR)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_siren_sweeps_but_dial_tone_does_not(seed):
    siren = _dry("siren", seed, duration=6.0)
    dial = _dry("dial tone", seed, duration=6.0)
    skip = int((dial.params["start_s"] + 0.1) * SR / 1024) + 1  # frames before the handset pickup
    siren_spread = _pitch_centre_track(siren.audio).std()
    dial_spread = _pitch_centre_track(dial.audio)[skip:].std()
    assert siren_spread > 0.06, siren_spread   # octaves
    assert dial_spread < 0.03, dial_spread
    assert siren_spread > 5 * dial_spread
    # the dial tone's loudest bin is always one of its two tones; the siren's wanders
    f, spec = _frame_spectra(dial.audio)
    dominant = f[np.argmax(spec[skip:], axis=1)]
    assert np.all(np.minimum(abs(dominant - 350), abs(dominant - 440)) < 12.0)
    f, spec = _frame_spectra(siren.audio)
    assert len(np.unique(np.argmax(spec, axis=1))) >= 5


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_energy_lies_where_the_recipe_puts_it(seed):
    assert _fraction_below(sw.render("heartbeat", seed, duration=5.0).audio, 200.0) > 0.6
    assert _fraction_below(sw.render("engine hum", seed, duration=5.0).audio, 1000.0) > 0.6
    assert 1.0 - _fraction_below(sw.render("bird chirp", seed, duration=5.0).audio, 1500.0) > 0.6
    assert 1.0 - _fraction_below(sw.render("kettle whistle", seed, duration=5.0).audio, 1000.0) > 0.6


def test_busy_signal_pulses_and_dial_tone_is_steady():
    def frame_rms(audio):
        return np.sqrt((_frames(audio, 441, 441) ** 2).mean(1))  # 20 ms frames

    for seed in range(3):
        busy = frame_rms(sw.render("busy signal", seed, duration=4.0).audio)
        dial = frame_rms(sw.render("dial tone", seed, duration=4.0).audio)[40:]
        assert np.percentile(busy, 90) > 2.0 * np.percentile(busy, 10)
        assert np.percentile(dial, 90) < 1.3 * np.percentile(dial, 10)


def test_classes_are_separable_but_not_trivially(train, test_split):
    """Nearest class centroid on mean band energies: far above chance, with real spread."""
    index = {name: k for k, name in enumerate(NAMES)}
    x = np.array([_band_features(c.audio) for _, c in train])
    y = np.array([index[c.label] for _, c in train])
    xt = np.array([_band_features(c.audio) for _, c in test_split])
    yt = np.array([index[c.label] for _, c in test_split])
    centroids = np.stack([x[y == k].mean(0) for k in range(len(NAMES))])
    pred = np.argmin(((xt[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    accuracy = float((pred == yt).mean())
    assert accuracy > 0.5, accuracy            # chance is 1/18
    spread = np.array([np.linalg.norm(x[y == k] - centroids[k], axis=1).mean() for k in range(len(NAMES))])
    gaps = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)[np.triu_indices(len(NAMES), 1)]
    assert (spread > 0.0).all()
    assert spread.mean() > 0.1 * gaps.mean()   # clips of one class really do differ


def test_every_scene_occurs_and_captions_name_it():
    seen: dict[str, set[str]] = {}
    for name in NAMES:
        for seed in range(12):
            clip = sw.render(name, seed, duration=1.5)
            seen.setdefault(clip.params["scene"], set()).add(name)
    assert set(seen) == set(sw.SCENE_NAMES)
    assert "rain" not in seen["rain"]  # a rain clip is never placed "in the rain"
