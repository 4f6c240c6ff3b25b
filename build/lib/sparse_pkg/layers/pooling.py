"""Max pooling by the CPU's channels-last kernel, with the bytes of the default layout's.

On the CPU, torch's max pool over an (N, C, H, W) tensor in the default layout runs a scalar loop
per output, 10-20x slower than its channels-last kernel, which is vectorised over channels. Both
kernels take, in each window, the first maximum in row-major order (a NaN replaces it), so both
give the same values and the same argmax indices, ties included. `MaxPool2d` runs the fast
kernel on a channels-last copy of the input and hands back default-layout tensors; the gradient
comes from the default layout's own backward kernel with those indices. Outputs and gradients are
therefore bit-identical to ``nn.MaxPool2d``'s, at the price of layout copies.
"""

from __future__ import annotations

import torch
from torch import nn


def _pair(value: int | tuple[int, ...]) -> list[int]:
    return [value, value] if isinstance(value, int) else list(value)


def _arguments(pool: nn.MaxPool2d) -> tuple:
    """kernel, stride, padding, dilation, ceil mode: the positional arguments of the aten ops."""
    return (_pair(pool.kernel_size), _pair(pool.stride), _pair(pool.padding),
            _pair(pool.dilation), pool.ceil_mode)


class _ChannelsLastMaxPool(torch.autograd.Function):
    """Forward by the channels-last kernel, backward by the default layout's kernel."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, pool: MaxPool2d) -> torch.Tensor:
        fast, out, indices = pool.scratch(x)
        fast.copy_(x)
        torch.ops.aten.max_pool2d_with_indices.out(fast, *_arguments(pool), out=out,
                                                   indices=indices)
        plain = torch.contiguous_format  # clone: a copy even where the layouts coincide
        ctx.save_for_backward(x, indices.clone(memory_format=plain))
        ctx.arguments = _arguments(pool)
        return out.clone(memory_format=plain)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        x, indices = ctx.saved_tensors
        grad_x = torch.ops.aten.max_pool2d_with_indices_backward(
            grad.contiguous(), x, *ctx.arguments, indices)
        return grad_x, None


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` (same arguments, values and gradients) that runs the channels-last kernel
    for default-layout CPU inputs; other inputs (CUDA, already channels-last, ``return_indices``)
    take the plain path."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type != "cpu" or self.return_indices or x.dim() != 4
                or not x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
            return super().forward(x)
        if not (torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()
        return _ChannelsLastMaxPool.apply(x, self)

    def scratch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Channels-last buffers for the input copy, output and indices of ``x``; none of them
        outlives the forward pass. In training they are kept for the next batch of the same
        shape: touching fresh pages every step costs about as much as the copies."""
        key = (x.shape, x.dtype)
        kept = self.__dict__.get("_scratch")
        if kept is not None and kept[0] == key:
            return kept[1]
        buffers = (torch.empty_like(x, memory_format=torch.channels_last), x.new_empty(0),
                   torch.empty(0, dtype=torch.int64))  # the pool sizes the last two
        self.__dict__.pop("_scratch", None)
        if self.training:
            self._scratch = (key, buffers)
        return buffers

    def __getstate__(self) -> dict:
        """Copies and pickles carry no scratch buffers."""
        return {k: v for k, v in super().__getstate__().items() if k != "_scratch"}
