"""The ReCLAP training recipe: ``zsbench train CONFIG`` or ``torchrun ... -m zsbench.training CONFIG``.

Modules: ``config`` (the ``reclap-base`` and ``tiny-cpu`` configurations), ``data`` (CSV and
WebDataset corpora, the paper's caption augmentation, stateless sampling), ``features`` (cached
log-mels and MiniLM embeddings for the tiny model), ``model`` (the T5-CLAP builder; the tiny
CLAP itself, its weights format and text encoder are :mod:`zsbench.models.tinyclap`, shared with the
``demo`` adapter), ``loss`` (symmetric contrastive loss over all ranks), ``arch_tiny`` / ``arch_t5``
(each architecture's data, evaluation and export), ``train`` (the loop), ``experiments`` (the
held-out-class effects table).
"""
