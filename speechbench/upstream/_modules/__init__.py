"""Blocks shared by several upstreams (front ends, encoders, checkpoint readers)."""
