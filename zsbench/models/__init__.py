"""Model definitions shared by an adapter and the training recipe (the tiny CLAP), so neither
imports the other."""
