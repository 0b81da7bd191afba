"""torchrun support: one process per device, rank 0 logs and saves.

``torchrun --nproc_per_node N run_benchmark.py ...`` sets ``WORLD_SIZE``/``RANK``/
``LOCAL_RANK``; we start NCCL on GPUs and gloo on CPU.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(device: str) -> tuple[int, int, str]:
    """Start the process group if launched by torchrun; return (rank, world_size, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return rank, world, device


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def gather_records(records: dict[str, list]) -> dict[str, list] | None:
    """Every rank's evaluation records joined on rank 0 (rank order, lists concatenated); None elsewhere."""
    if not dist.is_initialized():
        return records
    parts: list[dict | None] = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(records, parts, dst=0)
    if dist.get_rank() != 0:
        return None
    joined: dict[str, list] = {}
    for part in parts:
        for key, values in part.items():
            joined.setdefault(key, []).extend(values)
    return joined
