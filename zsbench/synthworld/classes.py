"""The sound world's classes: the name a prompt uses, how it sounds, and the recipe behind it.

``HELD_OUT`` are the classes the tiny CLAP never hears in training (``zsbench.training``): whole
classes held out, so its zero-shot accuracy on them measures transfer through shared property words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from zsbench.synthworld.recipes_impacts import (_clock_tick, _door_knock, _drum_beat, _footsteps, _glass_clink,
                                                _heartbeat, _water_drip)
from zsbench.synthworld.recipes_noisy import _applause, _dog_bark, _rain, _wind
from zsbench.synthworld.recipes_tonal import (_bird_chirp, _busy_signal, _church_bell, _dial_tone, _engine_hum,
                                              _kettle_whistle, _siren)
from zsbench.synthworld.text import _Sound

_Recipe = Callable[[np.random.Generator, np.random.Generator, int, int], _Sound]


@dataclass(frozen=True)
class SoundClass:
    """One class of the sound world, as a zero-shot prompt would name it."""

    name: str      # display label used for prompts: plain lower-case words
    summary: str   # one sentence on how it sounds; documentation and prompt-bank material
    synonyms: tuple[str, ...] = ()  # other phrases captions may use to name the source


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
RECIPES: dict[str, _Recipe] = {c.name: r for c, r in _TABLE}
