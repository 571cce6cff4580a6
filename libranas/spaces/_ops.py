"""Torch building blocks of the NAS-Bench-201 and DARTS (NAS-Bench-301) networks.

Re-derived from the papers: NAS-Bench-201 (Dong & Yang, ICLR 2020) and DARTS (Liu et al.,
ICLR 2019). Nothing here is imported by ``import libranas`` or by the torch-free parts of the
search spaces (validate/sample/mutate/encode); :meth:`build` imports this module on demand.

All modules are written for ``torch.func``: no in-place operations on activations (ReLUs are
not in-place, sums build new tensors) and the "none" operation returns ``x.mul(0.0)``, which
keeps shape, dtype and device and works under ``vmap``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# ----------------------------------------------------------------------------- generic ops


class Zero(nn.Module):
    """The "none" operation: zeros shaped like the (possibly strided) input."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in,
                c_out,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=False,
            ),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """DARTS dilated separable conv: ReLU -> depthwise (dilated) conv -> 1x1 conv -> BN."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in,
                c_in,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=c_in,
                bias=False,
            ),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """DARTS separable conv: two stacked :class:`DilConv` with dilation 1 (stride on the first)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        affine: bool = True,
    ) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel_size, stride, padding, 1, affine=affine),
            DilConv(c_in, c_out, kernel_size, 1, padding, 1, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convs on offset grids, concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(
                f"FactorizedReduce needs an even number of output channels, got {c_out}"
            )
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        a = self.conv_1(x)
        b = self.conv_2(x[:, :, 1:, 1:])
        if b.shape[-2:] != a.shape[-2:]:  # odd input size: pad the shifted branch
            b = nn.functional.pad(b, (0, a.shape[-1] - b.shape[-1], 0, a.shape[-2] - b.shape[-2]))
        return self.bn(torch.cat([a, b], dim=1))


# ----------------------------------------------------------------------------- NAS-Bench-201


def nb201_op(name: str, channels: int) -> nn.Module:
    """One NAS-Bench-201 cell operation on ``channels`` channels (stride 1)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}")


class NB201Cell(nn.Module):
    """NAS-Bench-201 cell: 4 nodes, node j = sum over i < j of op_ij(node_i), output node 3.

    ``ops`` lists the 6 edge operations in NB201-string order
    (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2).
    """

    EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(nb201_op(name, channels) for name in ops)

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


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201 reduction block: two ReLU-Conv-BN 3x3 (first stride 2) plus a shortcut
    of 2x2 average pooling (stride 2) followed by a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 macro skeleton around one cell.

    stem (3x3 conv + BN) -> ``cells_per_stage`` cells at C -> reduction block -> cells at 2C
    -> reduction block -> cells at 4C -> BN -> ReLU -> global average pool -> linear.
    """

    def __init__(
        self,
        ops: Sequence[str],
        num_classes: int = 10,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(ops, c) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))


# ----------------------------------------------------------------------------- DARTS


def darts_op(name: str, channels: int, stride: int, affine: bool) -> nn.Module:
    """One DARTS cell operation (``stride`` 2 on the input edges of a reduction cell)."""
    c = channels
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine=affine)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1, affine=affine)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2, affine=affine)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, affine=affine)
    if name == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2, affine=affine)
    raise ValueError(f"unknown DARTS operation {name!r}")


class DartsCell(nn.Module):
    """DARTS cell: two preprocessed inputs, 4 intermediate nodes (each the sum of two edge
    operations on earlier nodes), output = channel concatenation of the 4 intermediate nodes.

    ``genes`` holds 8 ``(input_node, op_name)`` pairs, two per intermediate node 2..5.
    """

    def __init__(
        self,
        genes: Sequence[tuple[int, str]],
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        op_affine: bool,
    ) -> None:
        super().__init__()
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, channels)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        self.inputs = tuple(node for node, _ in genes)
        self.ops = nn.ModuleList(
            darts_op(name, channels, 2 if reduction and node < 2 else 1, op_affine)
            for node, name in genes
        )
        self.reduction = reduction

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for j in range(4):
            a, b = 2 * j, 2 * j + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat(states[2:], dim=1)


class DartsNetwork(nn.Module):
    """DARTS CIFAR evaluation network (without auxiliary head and drop-path).

    stem (3x3 conv to ``stem_multiplier * channels`` + BN) -> ``layers`` cells, reduction
    cells (channels doubled) at ``layers // 3`` and ``2 * layers // 3`` -> global average
    pool -> linear.
    """

    def __init__(
        self,
        normal: Sequence[tuple[int, str]],
        reduce: Sequence[tuple[int, str]],
        num_classes: int = 10,
        channels: int = 32,
        layers: int = 8,
        stem_multiplier: int = 3,
        op_affine: bool = False,
    ) -> None:
        super().__init__()
        c_curr = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
        cells = []
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DartsCell(
                reduce if reduction else normal,
                c_prev_prev,
                c_prev,
                c_curr,
                reduction,
                reduction_prev,
                op_affine,
            )
            cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, 4 * c_curr
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(torch.flatten(self.global_pooling(s1), 1))
