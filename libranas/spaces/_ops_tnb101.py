"""Torch building blocks of the TransNAS-Bench-101 encoders (Duan et al., CVPR 2021).

Re-derived from the paper and the benchmark's description of its networks; imported only by
the ``build`` methods of :mod:`libranas.spaces.tnb101`. Written for ``torch.func`` like
``_ops.py``: no in-place operations on activations.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from libranas.spaces._ops import ReLUConvBN


class TNBZero(nn.Module):
    """The ``none`` operation: zeros shaped like the op's output (stride and width applied)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.c_out == self.c_in:
            return x.mul(0.0)
        return x[:, :1].mul(0.0).expand(-1, self.c_out, -1, -1)


class TNBFactorizedReduce(nn.Module):
    """Stride-2 skip with a width change: ReLU, two 1x1 stride-2 convs (each to half of
    ``c_out``) on the input and on the input shifted by one pixel (zero-padded at the
    bottom/right), concatenated, then BN. Odd sizes round up, as the stride-2 convs do."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"a factorized reduction needs an even c_out, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def tnb_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """One micro-cell operation from ``c_in`` to ``c_out`` channels with ``stride``."""
    if name == "none":
        return TNBZero(c_in, c_out, stride)
    if name == "skip_connect":
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        if stride != 2:
            raise ValueError(f"skip_connect changing {c_in} -> {c_out} channels needs stride 2")
        return TNBFactorizedReduce(c_in, c_out)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    raise ValueError(f"unknown TransNAS-Bench-101 operation {name!r}")


class TNBMicroCell(nn.Module):
    """The micro cell: node j = sum over i < j of op_ij(node_i), output node 3.

    ``ops`` lists the 6 edges in the order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. The edges out
    of the input carry the stride and the width change; the others keep ``c_out``.
    """

    EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

    def __init__(self, ops: Sequence[str], c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            tnb_op(name, c_in, c_out, stride) if src == 0 else tnb_op(name, c_out, c_out, 1)
            for name, (_to, src) in zip(ops, self.EDGES, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for j in range(1, 4):
            total = None
            for i in range(j):
                out = self.edges[k](nodes[i])
                total = out if total is None else total + out
                k += 1
            nodes.append(total)
        return nodes[3]


class TNBBasicBlock(nn.Module):
    """Residual block of the macro space: ReLU-Conv3x3-BN (stride) -> ReLU-Conv3x3-BN, plus
    the input, projected by a 1x1 conv (stride) + BN when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut: nn.Module
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class TNB101Network(nn.Module):
    """A TransNAS-Bench-101 encoder with a classification head.

    stem (3x3 conv stride 2 to C/2 + BN, ReLU-Conv3x3-BN stride 2 to C) -> one module per
    code of ``module_codes`` (1 plain, 2 channels doubled, 3 stride 2, 4 both), each
    ``blocks_per_module`` blocks (the first one changes stride and width) -> global average
    pool -> linear. A block is the micro cell ``cell_ops`` or, when ``cell_ops`` is None, a
    residual :class:`TNBBasicBlock`. Convolutions get Kaiming-normal (fan-out) weights and
    BatchNorms unit scales, as in the benchmark.
    """

    def __init__(
        self,
        module_codes: Sequence[int],
        cell_ops: Sequence[str] | None,
        num_classes: int = 10,
        channels: int = 64,
        blocks_per_module: int = 2,
    ) -> None:
        super().__init__()
        half = channels // 2
        self.stem = nn.Sequential(
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half),
            ReLUConvBN(half, channels, 3, 2, 1),
        )
        layers: list[nn.Module] = []
        c = channels
        for code in module_codes:
            c_out = 2 * c if code in (2, 4) else c
            stride = 2 if code in (3, 4) else 1
            for block in range(blocks_per_module):
                c_in, s = (c, stride) if block == 0 else (c_out, 1)
                if cell_ops is None:
                    layers.append(TNBBasicBlock(c_in, c_out, s))
                else:
                    layers.append(TNBMicroCell(cell_ops, c_in, c_out, s))
            c = c_out
        self.layers = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))
