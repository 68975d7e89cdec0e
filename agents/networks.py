"""MLPs with orthogonal init, domain networks named in a config, observations as flat vectors, and action
distributions for Discrete, MultiDiscrete and Box spaces.

Dict observations travel through the buffers as one flat float32 vector per step (the keys' values flattened
and concatenated in the space's order); a network that wants the structure gets it back from `Unflatten`.

The distributions work on raw tensors instead of torch.distributions objects: per-step object construction and
argument validation cost more than the math for the small networks used here.
"""

from __future__ import annotations

import math
import importlib
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}
MASKED_LOGIT = -1e8  # exp() of this underflows to exactly 0 in float32: masked actions get zero probability


def mlp(in_dim: int, hidden: list[int], out_dim: int, activation: str = "tanh", out_gain: float = 1.0,
        ortho_init: bool = True) -> nn.Sequential:
    """Linear layers with orthogonal weights (gain √2 hidden, `out_gain` output) and zero biases."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; valid choices: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [_init(nn.Linear(a, b), math.sqrt(2), ortho_init), ACTIVATIONS[activation]()]
    layers.append(_init(nn.Linear(sizes[-1], out_dim), out_gain, ortho_init))
    return nn.Sequential(*layers)


class EnsembleMLP(nn.Module):
    """`members` independent MLPs (e.g. one per agent) run together as batched matrix products.

    Input [members, batch, in_dim] -> [members, batch, out_dim]; initialised like `mlp`, member by member.
    """

    def __init__(self, members: int, in_dim: int, hidden: list[int], out_dim: int, activation: str = "relu",
                 out_gain: float = 1.0) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid choices: {', '.join(ACTIVATIONS)}")
        sizes = [in_dim, *hidden, out_dim]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            weight = torch.empty(members, a, b)
            for m in range(members):
                nn.init.orthogonal_(weight[m].T, out_gain if k == len(sizes) - 2 else math.sqrt(2))
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(torch.zeros(members, 1, b)))
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)
            if k < last:
                x = self.activation(x)
        return x

    def clip_grad_norm_(self, max_norm: float) -> None:
        """Clip each member's gradient norm separately, as `nn.utils.clip_grad_norm_` on each network alone."""
        params = [p for p in self.parameters() if p.grad is not None]
        squares = sum(p.grad.square().flatten(1).sum(1) for p in params)
        scale = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(scale.view(-1, *[1] * (p.grad.ndim - 1)))


class NumpyMLP:
    """A frozen numpy copy of an `mlp`, for acting during rollouts.

    At the batch sizes of acting (one row per env) numpy's per-call cost is a fraction of torch's dispatch and
    autograd bookkeeping; the copy is refreshed after every update, so it always equals the torch network.
    """

    NUMPY_ACTIVATIONS = {nn.Tanh: np.tanh, nn.ReLU: lambda x: np.maximum(x, 0.0),
                         nn.ELU: lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))}

    def __init__(self, net: nn.Sequential) -> None:
        self.steps: list[Any] = []
        for module in net:
            if isinstance(module, nn.Linear):
                self.steps.append((module.weight.detach().cpu().numpy().T.copy(), module.bias.detach().cpu().numpy().copy()))
            else:
                self.steps.append(self.NUMPY_ACTIVATIONS[type(module)])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = x @ step[0] + step[1] if isinstance(step, tuple) else step(x)
        return x


def flatten_parameters(module: nn.Module) -> nn.Parameter:
    """Re-home `module`'s parameters and gradients as views of one contiguous tensor each; returns that tensor.

    The optimizer step, gradient clipping and zeroing then touch one tensor instead of one per layer, which is
    most of their cost for small networks. Backward accumulates into the gradient views in place; zero them with
    `flat.grad.zero_()`, never by setting a parameter's `.grad` to None. Call after moving the module to its device.
    """
    params = list(module.parameters())
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat.data[offset : offset + n].view_as(p)
        p.grad = flat.grad[offset : offset + n].view_as(p)
        offset += n
    return flat


def _init(layer: nn.Linear, gain: float, ortho_init: bool) -> nn.Linear:
    if ortho_init:
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return layer


class UnsupportedSpaceError(TypeError):
    """An observation or action space an agent cannot work with; the message names the supported ones."""


# the parts a Dict observation may hold: arrays of numbers
DICT_PARTS = (spaces.Box, spaces.MultiBinary, spaces.MultiDiscrete, spaces.Discrete)


def flat_dim(space: spaces.Space) -> int:
    """Length of the flat vector of one observation of a Box space, or of a Dict space of numeric arrays."""
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Dict) and all(isinstance(part, DICT_PARTS) for part in space.spaces.values()):
        return sum(int(np.prod(part.shape)) or 1 for part in space.spaces.values())
    raise UnsupportedSpaceError(f"observation space {space} is not supported; supported: Box, and Dict of "
                                f"{', '.join(s.__name__ for s in DICT_PARTS)}")


def flatten_observations(obs: Any, space: spaces.Space, n: int) -> np.ndarray:
    """A batch of `n` observations as float32 rows: Box batches reshaped, Dict batches' values concatenated."""
    if isinstance(space, spaces.Dict):
        return np.concatenate([np.asarray(obs[key], np.float32).reshape(n, -1) for key in space.spaces], axis=1)
    return np.asarray(obs, np.float32).reshape(n, -1)


def observation_batch(obs: Any, space: spaces.Space) -> tuple[np.ndarray, bool]:
    """(flat rows, was_single) for one observation or a batch of `space`; a ValueError names the expected shape."""
    if not isinstance(space, spaces.Dict):
        from appliedrl.agents.base import check_observation_batch

        batch, single = check_observation_batch(obs, space.shape)
        return batch.reshape(len(batch), -1), single
    if not isinstance(obs, dict) or set(obs) != set(space.spaces):
        raise ValueError(f"expected a dict observation with keys {list(space.spaces)}")
    first, part = next(iter(space.spaces)), next(iter(space.spaces.values()))
    single = np.asarray(obs[first]).shape == part.shape
    n = 1 if single else len(obs[first])
    for key, part in space.spaces.items():
        expected = part.shape if single else (n, *part.shape)
        if np.asarray(obs[key]).shape != expected:
            raise ValueError(f"observation {key!r} has shape {np.asarray(obs[key]).shape}; expected {expected}")
    return flatten_observations(obs, space, n), single


class Unflatten(nn.Module):
    """Flat observation rows [B, D] back into the space's structure: a tensor [B, *shape] or a dict of them."""

    def __init__(self, space: spaces.Space) -> None:
        super().__init__()
        self.space = space

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        if not isinstance(self.space, spaces.Dict):
            return x.reshape(len(x), *self.space.shape)
        out, offset = {}, 0
        for key, part in self.space.spaces.items():
            size = int(np.prod(part.shape)) or 1
            out[key] = x[:, offset : offset + size].reshape(len(x), *part.shape)
            offset += size
        return out


def build_network(path: str, observation_space: spaces.Space, out_dim: int, env: Any,
                  kwargs: dict[str, Any]) -> nn.Sequential:
    """The domain network `path` ("module:Class") as `Class(observation_space, out_dim, env, **kwargs)`, taking
    the observation's structure and returning [B, out_dim], behind `Unflatten` so it reads flat rows. `env` is
    one unwrapped instance of the agent's env (None when unknown), for networks shaped by the env (a graph)."""
    module, _, name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"network {path!r} cannot be imported; give it as package.module:Class") from None
    return nn.Sequential(Unflatten(observation_space), cls(observation_space, out_dim, env, **kwargs))


def mask_size(space: spaces.Space) -> int:
    """Length of an action mask for `space` (one flag per choice); 0 for continuous spaces."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(space.nvec.sum())
    return 0


class ActionDistribution:
    """Sampling, log-probability, entropy and mode for one action space, from the actor's raw outputs."""

    def __init__(self, space: spaces.Space) -> None:
        if isinstance(space, spaces.Discrete):
            self.kind, self.sizes = "categorical", [int(space.n)]
        elif isinstance(space, spaces.MultiDiscrete):
            if space.nvec.ndim != 1:
                raise UnsupportedSpaceError("MultiDiscrete action spaces must be one-dimensional")
            self.kind, self.sizes = "categorical", [int(n) for n in space.nvec]
        elif isinstance(space, spaces.Box):
            if len(space.shape) != 1:
                raise UnsupportedSpaceError("Box action spaces must be one-dimensional")
            self.kind, self.sizes = "gaussian", [int(space.shape[0])]
        else:
            raise UnsupportedSpaceError(f"action space {space} is not supported; use Discrete, MultiDiscrete or Box")
        self.action_dim = len(self.sizes) if self.kind == "categorical" else self.sizes[0]

    @property
    def actor_out_dim(self) -> int:
        return sum(self.sizes)

    def _log_probs(self, logits: torch.Tensor, mask: torch.Tensor | None) -> list[torch.Tensor]:
        if mask is not None:
            logits = torch.where(mask, logits, torch.as_tensor(MASKED_LOGIT, dtype=logits.dtype))
        return [torch.log_softmax(part, -1) for part in logits.split(self.sizes, -1)]

    def sample(self, out: torch.Tensor, log_std: torch.Tensor | None, mask: torch.Tensor | None,
               deterministic: bool = False, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw actions (or the mode) and their log-probabilities."""
        if self.kind == "gaussian":
            std = log_std.exp().expand_as(out)
            actions = out if deterministic else out + std * torch.randn(out.shape, generator=generator, device=out.device)
            return actions, self._gaussian_log_prob(out, log_std, actions)
        picks, log_prob = [], 0.0
        for logp in self._log_probs(out, mask):
            if deterministic:
                choice = logp.argmax(-1)
            else:  # Gumbel-max sampling: argmax(logp + Gumbel noise)
                choice = (logp - torch.log(-torch.log(torch.rand(logp.shape, generator=generator, device=logp.device)))).argmax(-1)
            picks.append(choice)
            log_prob = log_prob + logp.gather(-1, choice[:, None]).squeeze(-1)
        return torch.stack(picks, -1), log_prob

    def sample_numpy(self, out: np.ndarray, log_std: np.ndarray | None, mask: np.ndarray | None,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`sample` for numpy inputs (rollouts on CPU): actions as float32 [n, action_dim] and log-probabilities."""
        if self.kind == "gaussian":
            actions = out + np.exp(log_std) * rng.standard_normal(out.shape, dtype=np.float32)
            return actions, self._gaussian_log_prob_numpy(out, log_std, actions)
        if mask is not None:
            out = np.where(mask, out, np.float32(MASKED_LOGIT))
        rows = np.arange(out.shape[0])
        actions = np.empty((out.shape[0], len(self.sizes)), np.float32)
        log_prob = np.zeros(out.shape[0], np.float32)
        start = 0
        for k, size in enumerate(self.sizes):
            logits = out[:, start : start + size]
            start += size
            shifted = logits - logits.max(-1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
            gumbel = -np.log(-np.log(rng.random(logp.shape, dtype=np.float32) + 1e-20) + 1e-20)
            choice = (logp + gumbel).argmax(-1)
            actions[:, k] = choice
            log_prob += logp[rows, choice]
        return actions, log_prob

    @staticmethod
    def _gaussian_log_prob_numpy(mean: np.ndarray, log_std: np.ndarray, actions: np.ndarray) -> np.ndarray:
        z = (actions - mean) / np.exp(log_std)
        return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(-1).astype(np.float32)

    def log_prob_entropy(self, out: torch.Tensor, log_std: torch.Tensor | None, mask: torch.Tensor | None,
                         actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of stored actions and the entropy, for the update."""
        if self.kind == "gaussian":
            entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1).expand(out.shape[0])
            return self._gaussian_log_prob(out, log_std, actions), entropy
        log_prob, entropy = 0.0, 0.0
        for k, logp in enumerate(self._log_probs(out, mask)):
            log_prob = log_prob + logp.gather(-1, actions[:, k : k + 1].long()).squeeze(-1)
            entropy = entropy - (logp.exp() * logp).sum(-1)
        return log_prob, entropy

    @staticmethod
    def _gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def from_env(self, actions: np.ndarray, space: spaces.Space) -> np.ndarray:
        """What the env takes → the stored encoding, float32 [n, action_dim]: `to_env`'s inverse within bounds."""
        actions = np.asarray(actions).reshape(-1, self.action_dim)
        if isinstance(space, spaces.Box):
            return actions.astype(np.float32)
        start = int(space.start) if isinstance(space, spaces.Discrete) else space.start
        return (actions - start).astype(np.float32)

    def to_env(self, actions: np.ndarray, space: spaces.Space) -> np.ndarray:
        """Stored actions → what the env takes: Discrete unwrapped and shifted by `start`, Box clipped to bounds."""
        if isinstance(space, spaces.Discrete):
            return actions[..., 0].astype(np.int64) + int(space.start)
        if isinstance(space, spaces.Box):
            return np.clip(actions, space.low, space.high).astype(space.dtype)
        return actions.astype(np.int64) + space.start
