"""What each shipped model's weights were trained and selected on, as their sources say.

A zero-shot score on data a model was trained on, or whose checkpoint was picked by that very
score, is not the same experiment as one on unseen data; the leaderboard marks such cells. Only
what a cited source states is written here: anything else stays ``unknown``.

Task ids in ``overlaps`` are zsbench's. "Freesound" overlaps matter because ESC-50, UrbanSound8K
and FSD50K are all cut from Freesound recordings: a model trained on Freesound audio may have
heard their clips (clip-level overlap is not checked by anyone we know of).
"""

from __future__ import annotations

from zsbench.adapters.base import UNKNOWN, TrainingData

FREESOUND = ("its training audio includes Freesound recordings, the source ESC-50, UrbanSound8K and FSD50K "
             "are cut from (clip-level overlap not checked)")
LAION_PAPER = "Wu et al., 'Large-scale contrastive language-audio pretraining with feature fusion and keyword-to-caption augmentation', ICASSP 2023, Sec. 2"
LAION_75 = "LAION-AI/CLAP issue #75: the released non-fusion and (retrained) fusion checkpoints were selected by ESC-50 zero-shot accuracy"
LAION_README = "LAION-AI/CLAP README, pretrained checkpoints table"


def _laion(audioset: bool) -> TrainingData:
    overlaps = {"esc50": f"{FREESOUND}; the checkpoint was also selected by ESC-50 zero-shot accuracy",
                "us8k": FREESOUND, "fsd50k": FREESOUND}
    if audioset:
        overlaps["audioset"] = "trained on AudioSet's training segments with keyword-to-caption text (same ontology and labels; the eval segments are held out)"
    return TrainingData(
        trained_on=("LAION-Audio-630K (8 web sources incl. Freesound)",) + (("AudioSet (keyword-to-caption)",) if audioset else ()),
        selected_on=("ESC-50 zero-shot accuracy",),
        overlaps=overlaps, sources=(LAION_PAPER, LAION_75, LAION_README))


LAION_630K = _laion(audioset=False)
LAION_630K_AUDIOSET = _laion(audioset=True)


def laion_music(speech: bool, audioset: bool, esc_in_name: str) -> TrainingData:
    overlaps = {"esc50": f"{FREESOUND}; the file name records the ESC-50 zero-shot accuracy it was selected by ({esc_in_name})",
                "us8k": FREESOUND, "fsd50k": FREESOUND}
    if audioset:
        overlaps["audioset"] = "trained on AudioSet's training segments (eval segments held out)"
    data = ("music data", *(("speech data",) if speech else ()), *(("AudioSet",) if audioset else ()),
            "LAION-Audio-630K (incl. Freesound)")
    return TrainingData(trained_on=data, selected_on=(f"ESC-50 zero-shot accuracy ({esc_in_name} in the file name)",),
                        overlaps=overlaps, sources=(LAION_README, LAION_75))


MSCLAP_2022 = TrainingData(
    trained_on=("128k audio-text pairs: FSD50K, Clotho, AudioCaps, MACS",),
    selected_on=(UNKNOWN,),
    overlaps={"fsd50k": "FSD50K audio and labels were training pairs (split as in the paper)",
              "esc50": FREESOUND, "us8k": FREESOUND,
              "audiocaps": "trained on AudioCaps pairs (training split; test held out)",
              "clotho": "trained on Clotho pairs (development split; evaluation held out)"},
    sources=("Elizalde et al., 'CLAP: Learning audio concepts from natural language supervision', ICASSP 2023 (arXiv:2206.04769), Sec. 3",))
MSCLAP_2023 = TrainingData(
    trained_on=("4.6M audio-text pairs from many public sets (listed in arXiv:2309.05767; not transcribed here)",),
    selected_on=(UNKNOWN,), overlaps={},
    sources=("Elizalde et al., 'Natural language supervision for general-purpose audio representations' (arXiv:2309.05767)",))
HF_CLAP = TrainingData(  # the Hub ports: their model cards do not say which LAION checkpoint each came from
    trained_on=(UNKNOWN,), selected_on=(UNKNOWN,), overlaps={},
    sources=("huggingface.co/laion/clap-htsat-unfused and siblings: model cards name LAION-Audio-630K, not the exact checkpoint",))
RECLAP = TrainingData(
    trained_on=("2.3M audio-caption pairs with LLM-rewritten captions (sources listed in the ReCLAP paper; not transcribed here)",),
    selected_on=(UNKNOWN,), overlaps={},
    sources=("Ghosh et al., 'ReCLAP: Improving zero shot audio classification by describing sounds' (arXiv:2409.09213)",))
COMPA = TrainingData(trained_on=(UNKNOWN,), selected_on=(UNKNOWN,), overlaps={},
                     sources=("Ghosh et al., 'CompA' (ICLR 2024); weights not published",))
OWN_RECIPE = TrainingData(trained_on=("whatever the --checkpoint's training run used (see its train_config)",),
                          selected_on=(UNKNOWN,), overlaps={}, sources=("zsbench.training",))
DEMO = TrainingData(
    trained_on=("synthworld: the 13 seen classes, 120 procedural clips each, with procedural captions",),
    selected_on=("nothing: the last step of a fixed schedule",),
    overlaps={"synthworld": "trained on the sound world's 13 seen classes (its 5 held-out classes never)",
              "synthworld-captions": "trained on captions of the sound world's seen classes"},
    sources=("zsbench training config tiny-cpu; adapters/weights/README.md",))
