"""Feature caching: run a frozen upstream once over a data dir, store its hidden states in a
kaldiio ark/scp dump (``extract``), and read them back per utterance (``cache``)."""
