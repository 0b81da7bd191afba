"""vq-wav2vec (Baevski et al., 2020) from the authors' fairseq file (``vq-wav2vec.pt``, Gumbel,
or ``vq-wav2vec_kmeans.pt``).

Same network and loading as :mod:`speechbench.upstream.wav2vec.expert` plus the quantiser
between the feature extractor and the aggregator. Inference quantisation is deterministic:
Gumbel takes the argmax logit of each group, k-means the nearest codeword.

Hidden states (13 for the released recipe): ``z`` before quantisation, the input of aggregator
convs 1..N-1, and ``c``. Extra outputs: ``codes`` (``LongTensor[B, T, groups]``, the codeword
index of each group, -1 on padded frames) and ``codewords`` (``[B, T, vq_dim]``, the quantised
vectors the aggregator reads). Without ``-k`` the Gumbel recipe is built with random weights.

Options: none.
"""
from __future__ import annotations

from speechbench.upstream.wav2vec.expert import LARGE_RECIPE
from speechbench.upstream.wav2vec.expert import UpstreamExpert as Wav2VecExpert


class UpstreamExpert(Wav2VecExpert):
    quantised = True
    name = "vq_wav2vec"

    def random_recipe(self) -> dict:
        return {**LARGE_RECIPE, "log_compression": False, "activation": "gelu", "vq_type": "gumbel",
                "vq_vars": 320, "vq_groups": 2, "vq_depth": 2, "combine_groups": True}
