#!/usr/bin/env python
"""Speed of our WavLM Base and wav2vec 2.0 Base (``-u hf`` directories) against transformers, and
peak memory of loading a Large (317M parameter) checkpoint and running 30 s through it.

Speed: transformers' ``WavLMModel`` / ``Wav2Vec2Model`` with Base sizes and random weights are
saved with ``save_pretrained``; ours loads each directory with ``-u hf`` (the same modules
``-u wavlm`` builds from the authors' file). Both run the same utterances, best CPU time of
``--repeats`` interleaved runs: ``single`` one by one, ``batched`` one zero-padded batch (with
transformers' attention mask). Ratio ours/transformers in real-time factor: >= 1 means ours is
not slower. Ours also returns every hidden state and masks padding per utterance.

Memory (``--memory``): a WavLM Large directory (safetensors, then the same weights as a
``pytorch_model.bin`` through the safe loader) is loaded in a fresh process that then extracts
30 s; the peak RSS of that process is printed next to the size of the weights. Loading onto a
meta-device model by assignment keeps one copy of the weights.

Usage: python bench/bench_ssl_upstreams.py [--seconds 2 3.5 5] [--repeats 3] [--threads 1] [--memory]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

import torch

from bench_wav2vec2 import best_times

BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
             feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)


def save_model(kind: str, sizes: dict, folder: str):
    import transformers
    config_cls, model_cls = {"wavlm": ("WavLMConfig", "WavLMModel"), "wav2vec2": ("Wav2Vec2Config", "Wav2Vec2Model")}[kind]
    torch.manual_seed(0)
    model = getattr(transformers, model_cls)(getattr(transformers, config_cls)(**sizes)).eval()
    model.save_pretrained(folder)
    return model


def speed(args: argparse.Namespace) -> None:
    from speechbench.upstream.hf.expert import UpstreamExpert
    wavs = [0.1 * torch.randn(int(s * 16000)) for s in args.seconds]
    audio = sum(args.seconds)
    padded = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    mask = (torch.arange(padded.shape[1])[None] < torch.tensor([len(w) for w in wavs])[:, None]).long()
    print(f"{len(wavs)} utterances, {audio:.1f} s of audio, {args.threads} thread(s), best of {args.repeats}")
    for kind in ("wavlm", "wav2vec2"):
        with tempfile.TemporaryDirectory() as folder:
            reference = save_model(kind, BASE, folder)
            ours = UpstreamExpert(folder)
        with torch.inference_mode():
            diff = max((ours([w])["last_hidden_state"][0] - reference(w[None]).last_hidden_state[0]).abs().max().item()
                       for w in wavs)
            runs = {"single": (lambda: [reference(w[None]) for w in wavs], lambda: [ours([w]) for w in wavs]),
                    "batched": (lambda: reference(padded, attention_mask=mask), lambda: ours(wavs))}
            print(f"{kind} Base: max |ours - transformers| on the last hidden state (single): {diff:.2e}")
            for mode, (ref_fn, our_fn) in runs.items():
                ref_time, our_time = best_times([ref_fn, our_fn], args.repeats)
                print(f"  {mode:8s} transformers {audio / ref_time:6.2f}x real time | ours {audio / our_time:6.2f}x "
                      f"real time | ratio ours/transformers {ref_time / our_time:.3f}")


def peak_rss(folder: str, weights: str) -> str:
    """Load ``weights`` (with the folder's config) in a fresh process, extract 30 s; report its peak RSS."""
    code = ("import resource, torch, sys; from speechbench.upstream.hf.expert import UpstreamExpert; "
            "torch.set_num_threads(1); m = UpstreamExpert(sys.argv[1]); "
            "loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "out = m([0.1 * torch.randn(30 * 16000)]); "
            "print(loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(out['hidden_states']))")
    done = subprocess.run([sys.executable, "-c", code, os.path.join(folder, weights)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    loaded, peak, layers = done.stdout.split()
    return f"after loading {int(loaded) / 2**20:.2f} GiB, peak with 30 s {int(peak) / 2**20:.2f} GiB ({layers} hidden states)"


def memory() -> None:
    with tempfile.TemporaryDirectory() as folder:
        model = save_model("wavlm", LARGE, folder)
        params = sum(p.numel() for p in model.parameters())
        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
        del model
        size = os.path.getsize(os.path.join(folder, "model.safetensors")) / 2**30
        print(f"WavLM Large: {params / 1e6:.0f}M parameters, {size:.2f} GiB of weights")
        for weights in ("model.safetensors", "pytorch_model.bin"):
            print(f"  {weights}: {peak_rss(folder, weights)}")
    print(f"(this process, which built the model with transformers: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB peak)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[2.0, 3.5, 5.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="also measure a Large model's peak RSS (1.3 GB file)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    speed(args)
    if args.memory:
        memory()


if __name__ == "__main__":
    main()
