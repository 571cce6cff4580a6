"""Torch building blocks of the NAS-Bench-101 network (Ying et al., ICML 2019).

Re-derived from the paper's description of the network; imported only by
:meth:`libranas.spaces.nb101.NB101Space.build`. Written for ``torch.func`` like
``_ops.py``: no in-place operations on activations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

# the channel rule lives with the space (torch-free, also used by its analytic count) and is
# passed in by NB101Space.build, so that this module does not import the space back
ChannelRule = Callable[[np.ndarray, int, int], list[int]]


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


def nb101_op(name: str, channels: int) -> nn.Module:
    """The operation of an intermediate vertex (channels unchanged, stride 1)."""
    if name == "conv3x3-bn-relu":
        return ConvBNReLU(channels, channels, 3)
    if name == "conv1x1-bn-relu":
        return ConvBNReLU(channels, channels, 1)
    if name == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 operation {name!r}")


class NB101Cell(nn.Module):
    """One NAS-Bench-101 cell (module) of a pruned spec, ``c_in`` -> ``c_out`` channels."""

    def __init__(
        self,
        matrix: np.ndarray,
        ops: Sequence[str],
        c_in: int,
        c_out: int,
        channel_rule: ChannelRule,
    ) -> None:
        super().__init__()
        n = len(matrix)
        self.n = n
        self.channels = channel_rule(matrix, c_in, c_out)
        self.sources = [[i for i in range(1, v) if matrix[i, v]] for v in range(n)]
        self.from_input = [bool(matrix[0, v]) for v in range(n)]
        self.to_output = [v for v in range(1, n - 1) if matrix[v, n - 1]]
        self.projections = nn.ModuleDict(
            {
                str(v): ConvBNReLU(c_in, self.channels[v], 1)
                for v in range(1, n)
                if self.from_input[v]
            }
        )
        self.ops = nn.ModuleDict(
            {str(v): nb101_op(ops[v], self.channels[v]) for v in range(1, n - 1)}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor] = [x]
        for v in range(1, self.n - 1):
            width = self.channels[v]
            total = None
            for i in self.sources[v]:
                part = states[i][:, :width]
                total = part if total is None else total + part
            if self.from_input[v]:
                part = self.projections[str(v)](x)
                total = part if total is None else total + part
            states.append(self.ops[str(v)](total))
        out = None
        if self.to_output:
            parts = [states[v] for v in self.to_output]
            out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        if self.from_input[self.n - 1]:
            shortcut = self.projections[str(self.n - 1)](x)
            out = shortcut if out is None else out + shortcut
        assert out is not None  # a pruned cell has an input -> output path
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 skeleton around one cell.

    stem (3x3 conv + BN + ReLU, 3 -> C) -> ``stacks`` stacks of ``cells_per_stack`` cells,
    2x2 max pooling (stride 2) and channel doubling between stacks -> global average pool ->
    linear.
    """

    def __init__(
        self,
        matrix: np.ndarray,
        ops: Sequence[str],
        num_classes: int = 10,
        channels: int = 128,
        stacks: int = 3,
        cells_per_stack: int = 3,
        *,
        channel_rule: ChannelRule,
    ) -> None:
        super().__init__()
        self.stem = ConvBNReLU(3, channels, 3)
        layers: list[nn.Module] = []
        c_in = c = channels
        for stack in range(stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                c *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(matrix, ops, c_in, c, channel_rule))
                c_in = c
        self.cells = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cells(self.stem(x))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))
