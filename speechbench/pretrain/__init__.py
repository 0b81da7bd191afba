"""Pretraining the upstreams we can train: one objective per upstream, one shared loop.

``python -m speechbench.pretrain --upstream apc --data-dir data/train --out exp/apc/apc.ckpt``
trains on the audio of a Kaldi data directory and writes the authors' checkpoint layout,
which ``UpstreamExpert(ckpt=...)`` loads. See :mod:`speechbench.pretrain.objective` for
how an objective plugs in and :mod:`speechbench.pretrain.loop` for the loop.
"""
