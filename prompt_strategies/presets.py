"""What ``zsbench prompts generate`` asks the LLM, as named presets.

``paper`` (the default) asks, in our words, for what the ReCLAP paper's two stages ask and
nothing more: t ways to describe how the label sounds, then per description n captions with the
sound in diverse scenes, avoiding the words "heard" and "sound"; a JSON object in reply (their
scripts asked for one too). It sends no system message, as theirs sent none, and a caption that
uses an avoided word is kept (counted by ``zsbench prompts stats``), since theirs was too.

``strict`` is the stricter set earlier zsbench banks were written with: acoustic qualities named,
scenes spelled out, and a caption with "heard" or "sound(s)" asked again.

The preset's name and its exact text go into the bank's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    system: str | None  # None: only the user message is sent
    stage1: str         # fields: {t}, {label}
    stage2: str         # fields: {n}, {label}, {description}
    refuse_avoided: bool  # ask again when a caption says "heard" or "sound(s)"

    def instructions(self) -> dict[str, str | None]:
        return {"system": self.system, "stage1": self.stage1, "stage2": self.stage2}


PAPER = Preset(
    name="paper",
    system=None,
    stage1=("In what {t} different ways can the sound of '{label}' be described? Reply with a JSON object "
            'whose keys are "1" to "{t}" and whose values are the descriptions.'),
    stage2=("This description characterises the sound of '{label}' in its own way: \"{description}\". "
            "Following that description, write {n} varied captions in which the sound of '{label}' happens in "
            "different scenes. Do not use words such as 'heard' or 'sound' in the captions. Reply with a JSON "
            'object whose keys are "1" to "{n}" and whose values are the captions.'),
    refuse_avoided=False,
)

STRICT = Preset(
    name="strict",
    system="You write short, concrete English text about sounds. You reply with JSON only, without commentary.",
    stage1=("Give {t} different ways to describe the sound of '{label}'. Each description is one short phrase "
            "or sentence about how it sounds: its acoustic qualities such as pitch, loudness, rhythm, texture "
            "or duration. Make the {t} descriptions clearly different from each other. Reply with a JSON object "
            'only, mapping "1" to "{t}" to the descriptions, like {"1": "...", "2": "..."}.'),
    stage2=("Write {n} different one-sentence captions of audio recordings in which the sound of '{label}', "
            'described as "{description}", occurs. Place it in {n} diverse scenes (indoors and outdoors, '
            "different places, times and things going on around it). Do not use the words \"heard\" or "
            "\"sound\" (nor \"sounds\"). Reply with a JSON object only, mapping \"1\" to \"{n}\" to the captions."),
    refuse_avoided=True,
)

PRESETS: dict[str, Preset] = {p.name: p for p in (PAPER, STRICT)}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown --preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
