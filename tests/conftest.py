"""Test-wide settings: keep each test process to one thread (2-core machine)."""
import torch

torch.set_num_threads(1)
