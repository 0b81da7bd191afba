"""Training machinery shared by every downstream: config, checkpoints, loop, featurizer."""
