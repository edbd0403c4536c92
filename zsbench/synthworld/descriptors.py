"""Perceptual property words measured from a rendered sound, in one vocabulary for every class.

The paper's rewrites describe "each sound's own characteristics and how people perceive them".
Our procedural stand-in for those rewrites adds the same kind of words, measured from the dry
event (before the scene is mixed in): register, pitched or noisy, pitch movement, continuous or
in hits, and how hits decay. The words are shared by all classes and grounded in the audio, so
a model trained on seen classes can meet them again in descriptions of classes it never heard:
the throwaway prototype transferred only where such shared property words existed.
"""

from __future__ import annotations

import numpy as np

REGISTER = {"low": ("low and deep", "deep and low-pitched", "low in pitch"),
            "mid": ("mid-pitched", "in a middle register", "neither high nor low in pitch"),
            "high": ("high and bright", "high-pitched and bright", "shrill and high")}
TEXTURE = {"tonal": ("a clear, pure tone", "tonal, with a clear musical pitch", "clean and tonal"),
           "noisy": ("rough and noisy", "a noisy texture without a clear pitch", "harsh, unpitched noise")}
MOTION = {"moving": ("its pitch sliding up and down", "with a pitch that rises and falls",
                     "sweeping up and down in pitch"),
          "steady": ("holding one steady pitch", "at a constant pitch", "never changing pitch")}
TIME = {"continuous": ("continuous and unbroken", "sustained without a break", "going on steadily"),
        "dense": ("a dense patter of tiny rapid bursts", "a crackle of many quick bursts",
                  "countless short bursts close together"),
        "hits": ("in separate short hits", "as distinct strikes with gaps between them",
                 "in a series of separate knocks and taps")}
DECAY = {"ringing": ("each one ringing on and fading slowly", "with a long ringing decay",
                     "resonant, each strike lingering"),
         "dull": ("each one dull and short", "each hit dry and quickly damped", "thudding and stopping short")}


def measure(audio: np.ndarray, sr: int) -> dict[str, str]:
    """Categorical properties of a dry event; see the module docstring."""
    x = np.asarray(audio, dtype=np.float64)
    n_fft, hop = 1024, 256
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    idx = np.arange(0, len(x) - n_fft + 1, hop)[:, None] + np.arange(n_fft)
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2 + 1e-18
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    energy = spec.sum(1)
    db = 10 * np.log10(energy / energy.max())
    active = db > -20.0
    w = energy[active]
    centroid = float((spec[active] @ f).sum() / spec[active].sum())
    # pitched: the strongest bin stands far above its smoothed neighbourhood (noise of any colour does not)
    kernel = np.ones(31) / 31
    smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, spec[active])
    prominence = (spec[active] / smooth).max(1)
    tonal = float(np.percentile(prominence, 75)) > 12.0
    dominant = np.log2(np.maximum(f[np.argmax(spec[active][:, 2:], axis=1) + 2], 20.0))
    moving = tonal and float(np.sqrt(np.average((dominant - np.average(dominant, weights=w)) ** 2, weights=w))) > 0.12
    duty = float(active.mean())
    onsets = int(np.sum(active[1:] & ~active[:-1]) + active[0])
    seconds = len(x) / sr
    if duty > 0.75:
        time = "continuous"
    elif onsets / seconds > 4.0:
        time = "dense"
    else:
        time = "hits"
    hold = duty * seconds / max(onsets, 1)  # mean time above -20 dB per event
    return {"register": "low" if centroid < 500.0 else ("mid" if centroid < 2000.0 else "high"),
            "texture": "tonal" if tonal else "noisy",
            "motion": ("moving" if moving else "steady") if tonal else "",
            "time": time, "decay": ("ringing" if hold > 0.35 else "dull") if time == "hits" else ""}


def phrases(props: dict[str, str]) -> list[tuple[str, ...]]:
    """Detail slots (alternatives each) for the rewrites."""
    slots = [REGISTER[props["register"]], TEXTURE[props["texture"]], TIME[props["time"]]]
    if props["motion"]:
        slots.append(MOTION[props["motion"]])
    if props["decay"]:
        slots.append(DECAY[props["decay"]])
    return slots
