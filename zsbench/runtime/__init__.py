"""How a run executes, below everything else: atomic files, folders, progress bars, memory
and batch slots, precision, compilation, sharding. Nothing here knows about models or tasks."""
