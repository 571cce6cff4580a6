"""The shared pass: one network, one batch, every requested proxy.

:class:`NetworkPass` computes each kind of pass at most once, on first request, and
caches it, so proxies that need the same forward/backward share it. Proxies read from
it; they never run the network themselves unless they declare ``own_pass``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch
from torch import nn

#: activation modules whose outputs are binarised (pre-activation > 0); timm's GELU
#: classes are not nn.GELU subclasses, so they are matched by name in ``is_activation``
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.GELU, nn.LeakyReLU)
_ACTIVATION_NAMES = {"GELU", "GELUTanh", "QuickGELU", "ReLU", "ReLU6"}

#: modules with a weight matrix: the "layers" of L-SWAG / ZiCo, in registration order
WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, ACTIVATION_TYPES) or type(module).__name__ in _ACTIVATION_NAMES


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Weight layers (Conv2d, Linear) in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYER_TYPES)]


class NetworkPass:
    """Lazily computed, cached passes of one network over one batch.

    Parameters
    ----------
    model : torch.nn.Module
        The untrained network, already on ``inputs.device``.
    inputs : torch.Tensor
        Image batch ``(N, C, H, W)``.
    targets : torch.Tensor
        Integer class labels ``(N,)``.
    seed : int
        Seed for anything random inside a pass (random inputs of synflow/zen).
    options : dict
        Per-proxy options (e.g. ``lswag_band``, ``per_sample_chunk``).
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        *,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self.seed = seed
        self.options = dict(options or {})
        #: memo for intermediate results shared by several proxies of one family
        #: (e.g. one backward with activation-gradient hooks feeding snip, fisher, ...)
        self.cache: dict[str, Any] = {}

    def shared(self, key: str, compute: Any) -> Any:
        """Return ``cache[key]``, computing it once with ``compute(self)``."""
        if key not in self.cache:
            self.cache[key] = compute(self)
        return self.cache[key]

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    def loss_fn(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, targets)

    # -- forward with activation hooks -----------------------------------------------
    @cached_property
    def activations(self) -> list[torch.Tensor]:
        """Binary activation codes, one ``(N, units)`` bool tensor per activation module.

        ``1[pre-activation > 0]`` for ReLU and GeLU alike (same sign pattern). 3-D token
        tensors of ViTs are flattened so that each token-channel position is a unit.
        """
        codes: list[torch.Tensor] = []

        def hook(module: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1))

        handles = [m.register_forward_hook(hook) for m in self.model.modules() if is_activation(m)]
        try:
            with torch.no_grad():
                self.model(self.inputs)
        finally:
            for h in handles:
                h.remove()
        return codes

    # -- one backward of the loss over the batch ---------------------------------------
    @cached_property
    def weight_grads(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """``(layer name, weight, d loss / d weight)`` for every weight layer."""
        self.model.zero_grad(set_to_none=True)
        logits = self.model(self.inputs)
        self.loss_fn(logits, self.targets).backward()
        out = []
        for name, layer in weight_layers(self.model):
            w = layer.weight
            g = w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w)
            out.append((name, w.detach(), g))
        self.model.zero_grad(set_to_none=True)
        return out

    # -- input jacobian ----------------------------------------------------------------
    @cached_property
    def input_jacobian(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(J, logits)``: J = d sum_k logits_k / d x, shape ``(N, C*H*W)``."""
        x = self.inputs.detach().clone().requires_grad_(True)
        logits = self.model(x)
        (jac,) = torch.autograd.grad(logits.sum(), x)
        return jac.reshape(jac.shape[0], -1).detach(), logits.detach()
