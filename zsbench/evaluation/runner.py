"""One run: model x task x prompts -> metrics -> run record. ``zsbench.evaluate`` is this."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from zsbench.adapters.base import AudioTextModel
from zsbench.data.audio import Preprocessing
from zsbench.evaluation.cache import EmbeddingCache, cache_name
from zsbench.runtime.compiling import apply_compile, compiled_with
from zsbench.config import RunConfig, build_strategy, load_options, task_arguments
from zsbench.config import parse_option_value  # noqa: F401  (its old home; RunConfig's too)
from zsbench.runtime.paths import cache_dir
from zsbench.evaluation.embed import embed_audio, embed_texts
from zsbench.runtime.fsutil import atomic_write
from zsbench.data.hub import data_source
from zsbench.evaluation.metrics import MetricReport
from zsbench.prompt_strategies.base import PromptSet, bank_hash, check_prompts, class_scores, prompt_source
from zsbench.evaluation.provenance import git_revision, package_versions, resampler_used, task_protocol, weights_identity
from zsbench.registry import METRICS, MODELS, TASKS
from zsbench.evaluation.results import RunRecord, ResultsStore
from zsbench.runtime.shard import device_for as shard_device, embed_share, from_env as shard_rank
from zsbench.tasks.base import Task


@dataclass
class RunResult:
    record: RunRecord
    report: MetricReport
    scores: np.ndarray  # (N scored, C)
    task: Task
    scored: list[int]  # indices into task.items that were scored
    record_path: Path | None = None


@dataclass
class TextPlan:
    """The texts a run embeds, how they turn into scores, and what the record says about them."""

    texts: list[str]
    record: dict[str, Any]
    score: Callable[[np.ndarray, np.ndarray, list[int]], tuple[np.ndarray, np.ndarray]]


def classification_plan(config: RunConfig, model: AudioTextModel, task: Task) -> TextPlan:
    strategy = build_strategy(config, model.meta, task.meta.id)
    prompts = strategy.prompts(task.labels)
    check_prompts(prompts, task.labels, f"prompt strategy {config.prompts!r}")
    prompt_set = PromptSet.from_dict(prompts, task.labels)

    def score(audio: np.ndarray, text: np.ndarray, scored: list[int]):
        scores = class_scores(audio, text, prompt_set.owner, len(task.labels), config.pooling)
        return scores, _targets(task, scored)

    # Pooling is the run's, not the strategy's; the record keeps it with the prompt parameters.
    params = {**strategy.params(), "pooling": config.pooling}
    record = {"strategy": strategy.name, "params": params, "bank_hash": bank_hash(prompts),
              "n_prompts": len(prompt_set.texts), "prompts": prompts, "source": prompt_source(strategy)}
    return TextPlan(prompt_set.texts, record, score)


def retrieval_plan(task: Task) -> TextPlan:
    """The task's captions are the texts; no prompt strategy applies. Captions of clips that
    were skipped as bad audio leave the query set with their clip."""

    def score(audio: np.ndarray, text: np.ndarray, scored: list[int]):
        row = {item: r for r, item in enumerate(scored)}
        keep = [j for j, item in enumerate(task.caption_item) if item in row]
        return text[keep] @ audio.T, np.asarray([row[task.caption_item[j]] for j in keep], dtype=np.int64)

    record = {"strategy": "captions", "params": {}, "n_prompts": len(task.captions),
              "bank_hash": bank_hash({"captions": task.captions}), "source": {"kind": "captions"}}
    return TextPlan(list(task.captions), record, score)


def _targets(task: Task, scored: list[int]) -> np.ndarray:
    if task.meta.metric == "map":
        multi = np.zeros((len(scored), len(task.labels)), dtype=bool)
        for r, i in enumerate(scored):
            multi[r, list(task.items[i].targets)] = True
        return multi
    return np.asarray([task.items[i].targets[0] for i in scored], dtype=np.int64)


def _compile_for(config: RunConfig, model: AudioTextModel) -> dict[str, Any] | None:
    """Compile the model when the run asks for it (a model already compiled, as a sweep passes
    it, stays as it is); refuse a compiled model in an eager run, whose cache it would pollute."""
    if config.compile:
        return apply_compile(model, config.model)
    if compiled_with(model) is not None:
        raise ValueError(f"model {config.model!r} was compiled (torch.compile) but this run has compile=False; "
                         "pass --compile, or load the model again for an eager run")
    return None


def run(config: RunConfig, model: AudioTextModel | None = None) -> RunResult:
    """``model``: an already loaded adapter (a sweep reuses one across points; the training
    recipe evaluates the model it is training). ``config.model`` then only names it."""
    config.validate()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 4)
        clock = now

    rank = shard_rank() if config.shard else None
    device = shard_device(config.device, rank) if rank else config.device  # under torchrun: this rank's GPU
    if model is None:
        model = MODELS.get(config.model)(load_options(config, device))
    fingerprint = model.fingerprint()  # of the weights, before compiling (which changes no weight)
    compiled = _compile_for(config, model)
    lap("load_model")
    task = TASKS.get(config.task)(**task_arguments(config))
    lap("load_task")
    plan = retrieval_plan(task) if task.meta.metric == "retrieval" else classification_plan(config, model, task)
    lap("prompts")

    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, config.crop, config.crop_seed)
    cache_root = (Path(config.cache_dir) if config.cache_dir else cache_dir()) if config.use_cache else None
    cache = EmbeddingCache(cache_root, cache_name(fingerprint, config.precision,
                                                  compiled["backend"] if compiled else None))
    store_dtype = config.cache_dtype
    paths = [it.path for it in task.items]
    shard_counts = None
    if rank is not None and rank.world_size > 1:
        if not (cache.enabled and prep.deterministic):
            cache.close()
            raise ValueError("--shard hands embeddings between ranks through the embedding cache: it needs a "
                             "writable --cache-dir shared by all ranks and a deterministic --crop (not random)")

        def embed_mine(share: list[int]) -> int:
            return embed_audio(model, [paths[i] for i in share], prep, cache, config.batch_size, config.workers,
                               config.on_bad_audio, False, device, store_dtype, config.precision).computed

        shard_counts = embed_share(rank, len(paths), embed_mine)
        lap("audio_shard")
    try:
        audio = embed_audio(model, paths, prep, cache, config.batch_size,
                            config.workers, config.on_bad_audio, config.progress, device, store_dtype,
                            config.precision)
        lap("audio")
        text, text_hits, text_computed = embed_texts(model, plan.texts, cache, progress=config.progress,
                                                     precision=config.precision, device=device)
        lap("text")
    finally:
        cache_enabled = cache.enabled
        cache.close()

    scored = sorted(audio.embeddings)
    if not scored:
        raise ValueError(f"task {task.meta.id!r}: every clip was skipped as bad audio; nothing to score")
    matrix = np.stack([audio.embeddings[i] for i in scored])
    audio.embeddings.clear()  # one copy of the embeddings, not two, while scoring (AudioSet-sized tasks)
    scores, targets = plan.score(matrix, text, scored)
    del matrix
    report = METRICS.get(task.meta.metric)(scores, targets, task.labels, n_boot=config.bootstrap, seed=config.seed)
    lap("score")

    record = RunRecord(
        run_id=uuid.uuid4().hex[:12],
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        config=asdict(config),
        model={"name": config.model, "fingerprint": fingerprint, "meta": model.meta.to_dict(),
               "checkpoint": weights_identity(getattr(model, "weights_file", None), config.checkpoint),
               "template_source": model.meta.template_source, "training": model.meta.training.to_dict()},
        task={"id": task.meta.id, "version": task.meta.version, "metric": task.meta.metric,
              "params": task.params, "data_root": str(task.data_root) if task.data_root else None,
              "n_items": len(task.items), "n_scored": len(scored), "n_skipped": len(audio.skipped),
              "skipped": [{"path": p, "problem": why} for p, why in audio.skipped], "coverage": task.coverage,
              "source": data_source(task.data_root), "protocol": task_protocol(task, len(scored), report)},
        prompts=plan.record,
        preprocessing={"sample_rate": prep.sample_rate, "clip": asdict(prep.policy), "crop": prep.crop,
                       "seed": prep.seed, "key": prep.key(), "resampler": resampler_used(prep.policy.resampler)},
        metrics=report.to_dict(),
        timings=timings,
        cache={"enabled": cache_enabled, "audio_dtype": store_dtype if cache_enabled else None,
               "dir": str(cache_root) if cache_root else None, "disabled_reason": cache.disabled_reason,
               "audio_hits": audio.hits, "audio_computed": audio.computed,
               "text_hits": text_hits, "text_computed": text_computed},
        packages=package_versions(),
        git_revision=git_revision(),
        seed=config.seed,
    )
    if compiled:
        record.extra["compile"] = dict(compiled)
    if shard_counts is not None:
        record.extra["shard"] = {"world_size": rank.world_size, "embedded_per_rank": shard_counts}
    result = RunResult(record, report, scores, task, scored)
    if rank is not None and not rank.leader:
        return result  # every rank scores (from the cache, cheaply); rank 0 alone writes
    if config.store:
        result.record_path = ResultsStore(config.results_dir).append(record)
    if config.output:
        with atomic_write(config.output) as f:
            f.write(record.to_json())
    if config.save_predictions:
        from zsbench.evaluation.predictions import write_predictions

        write_predictions(Path(config.save_predictions), result.scores, result.task, result.scored)
    return result
