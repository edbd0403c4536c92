"""Getting bytes in: audio decoding and resampling, dataset archives and their checksums, Hub
copies of datasets, model checkpoints. Used by tasks and adapters; imports only ``runtime``."""
