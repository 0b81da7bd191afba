"""fairseq's convolution-stack specs (``"[(512, 10, 5)] + [(512, 3, 2)] * 4"``), read without ``eval``.

Checkpoint configs (wav2vec's ``conv_feature_layers``/``conv_aggregator_layers``, wav2vec 2.0's and
HuBERT's ``conv_feature_layers``) store the layer list as a Python expression. Only number, list
and tuple literals joined by ``+`` and ``*`` are evaluated, a repeat count is at most
``MAX_REPEAT`` and the list at most ``MAX_LAYERS`` long, so a crafted file cannot run code or
exhaust memory.
"""
from __future__ import annotations

import ast
from typing import Any

from speechbench.errors import ConfigError

MAX_REPEAT = 100
MAX_LAYERS = 1000


class ConvSpecError(ConfigError):
    """A layer spec that is not a short list of ``(dim, kernel, stride)`` tuples."""


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Add):
            result = left + right
        elif not any(isinstance(v, int) and 0 <= v <= MAX_REPEAT for v in (left, right)):
            raise ConvSpecError(f"repeat counts must be integers up to {MAX_REPEAT}")
        else:
            result = left * right
        if isinstance(result, (list, tuple)) and len(result) > MAX_LAYERS:
            raise ConvSpecError(f"more than {MAX_LAYERS} layers")
        return result
    raise ConvSpecError(f"only number, list and tuple literals with + and * are allowed, not {type(node).__name__}")


def parse_conv_spec(spec: str | list, field: str) -> list[tuple[int, int, int]]:
    """``(dim, kernel, stride)`` per layer of a spec string (or an already parsed list) named ``field``."""
    try:
        layers = spec if isinstance(spec, (list, tuple)) else _value(ast.parse(str(spec), mode="eval").body)
        if not isinstance(layers, (list, tuple)) or not layers or len(layers) > MAX_LAYERS:
            raise ConvSpecError(f"expected a list of 1 to {MAX_LAYERS} layers")
        if not all(isinstance(t, (list, tuple)) and len(t) == 3 for t in layers):
            raise ConvSpecError("every layer must be a (dim, kernel, stride) tuple")
        return [tuple(int(v) for v in layer) for layer in layers]
    except (SyntaxError, TypeError, ValueError) as err:
        why = err if isinstance(err, ConvSpecError) else "not a layer list like [(512, 10, 5), ...]"
        raise ConvSpecError(f"{field}={spec!r} is not a list of (dim, kernel, stride) tuples: {why}") from None
