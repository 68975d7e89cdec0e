"""HDPO, Hindsight Differentiable Policy Optimization (Alvo, Russo & Kanoria).

Sample fixed, seeded train / dev / test sets of exogenous scenarios (e.g. demand paths). Simulate every training
scenario over the whole horizon with the policy and follow the pathwise gradient of the average cost through
the known, differentiable dynamics, instead of a high-variance score-function estimate. Minibatches of scenarios,
Adam, dev evaluation every few epochs with early stopping; the best-dev policy is tested.

The method needs a `DifferentiableProblem`; the domains provide them (appliedrl.domains.inventory).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from appliedrl.agents.base import Algorithm, check_observation_batch, seed_everything
from appliedrl.agents.checkpoint import atomic_torch_save, load_file
from appliedrl.agents.config import RunConfig, _check, check_network, config_to_dict, make_loaded_config
from appliedrl.agents.vec_env import NonFiniteError

class DifferentiableProblem(Protocol):
    """A simulator HDPO can differentiate through."""

    integer_actions: bool  # actions are rounded to integers when tested and deployed (trained unrounded)

    def sample_scenarios(self, n: int, periods: int, seed: int) -> Any:
        """A fixed set of `n` scenarios of `periods` periods (exogenous randomness and initial states)."""

    def subset(self, scenarios: Any, index: torch.Tensor) -> Any:
        """The scenarios at `index`."""

    def cost(self, policy: nn.Module, scenarios: Any, ignore_periods: int, test: bool = False) -> torch.Tensor:
        """Per-scenario average cost [n] of simulating `policy`, differentiable in its parameters unless `test`."""

    def reference_costs(self) -> dict[str, float]:
        """Known reference costs of the instance: "optimal_cost" and/or "lower_bound" (empty if none)."""


LR_SCHEDULES = ("constant", "plateau", "cosine")


@dataclasses.dataclass
class HDPOConfig(RunConfig):
    """HDPO's settings; its budget unit is the epoch (one pass over the training scenarios)."""

    eval_freq: int = 10  # epochs between dev evaluations
    checkpoint_freq: int = 10
    log_freq: int = 1
    torch_threads: int | None = None  # torch's default (all cores): the simulator works on large batches
    learning_rate: float = 3e-3
    batch_size: int = 8192  # scenarios per gradient step
    train_scenarios: int = 32_768
    train_periods: int = 50
    train_ignore_periods: int = 30  # warm-up periods left out of the loss
    dev_scenarios: int = 32_768
    dev_periods: int = 100
    dev_ignore_periods: int = 60
    test_scenarios: int = 8192
    test_periods: int = 2000
    test_ignore_periods: int = 500
    patience: int = 500  # stop after this many epochs without a better dev cost
    max_seconds: float = 0.0  # stop after this much training time (evaluations excluded); 0 = no limit
    max_grad_norm: float = 0.0  # 0 = no clipping
    # constant | plateau (multiply by lr_decay after lr_patience epochs without a better dev cost) |
    # cosine (anneal from learning_rate to min_learning_rate over the budget)
    lr_schedule: str = "constant"
    lr_decay: float = 0.5
    lr_patience: int = 50  # epochs; counted from the best dev cost or the last decay, whichever is later
    min_learning_rate: float = 1e-5  # the floor of plateau decay, the end of cosine annealing
    policy: str = "mlp"  # a policy architecture the domain provides (inventory: mlp, base_stock, ...)
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [32, 32, 32])
    activation: str = "elu"  # the reference's; relu is 3x cheaper on CPU but converged slower here
    compile: bool = False  # ask the problem to torch.compile its simulation step (pays off on GPUs)
    # capture each minibatch's forward and backward pass as one CUDA graph and replay it: HDPO's steps are
    # thousands of tiny kernels, so on a GPU they are bound by launches, not arithmetic (device cuda only)
    cuda_graph: bool = False

    def validate(self) -> None:
        _check(self.learning_rate > 0, "learning_rate must be > 0")
        _check(1 <= self.batch_size, "batch_size must be >= 1")
        _check(self.train_scenarios >= 1 and self.dev_scenarios >= 1 and self.test_scenarios >= 1,
               "train_scenarios, dev_scenarios and test_scenarios must be >= 1")
        for split in ("train", "dev", "test"):
            periods, ignore = getattr(self, f"{split}_periods"), getattr(self, f"{split}_ignore_periods")
            _check(0 <= ignore < periods, f"{split}_ignore_periods must be in [0, {split}_periods)")
        _check(self.patience >= 1, "patience must be >= 1")
        _check(self.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of: {', '.join(LR_SCHEDULES)}")
        _check(0 < self.lr_decay < 1, "lr_decay must be in (0, 1)")
        _check(self.lr_patience >= 1, "lr_patience must be >= 1")
        _check(self.min_learning_rate > 0, "min_learning_rate must be > 0")
        _check(self.lr_schedule == "constant" or self.min_learning_rate <= self.learning_rate,
               "min_learning_rate must be <= learning_rate")
        check_network(self.net_arch, self.activation)
        _check(not (self.cuda_graph and self.compile), "cuda_graph and compile are alternatives: choose one")
        _check(not self.cuda_graph or self.device.startswith("cuda"), "cuda_graph needs device cuda, not cpu")
        super().validate()  # the device check last: on a machine without CUDA the settings' own errors come first


class CUDAGraphGradient:
    """Captures `mean_cost_and_gradient` (indices -> cost, gradient left in the parameters' `.grad`) for a
    minibatch size as one CUDA graph, then replays it with new indices copied into the captured index buffer.
    The `.grad` tensors the capture allocated are reused by every replay, so they must never be set to None;
    a minibatch of another size (the last one of an epoch) runs eagerly into the same buffers."""

    def __init__(self, mean_cost_and_gradient: Callable[[torch.Tensor], torch.Tensor], params: list[nn.Parameter],
                 index: torch.Tensor, warmup_steps: int = 3) -> None:
        self.mean_cost_and_gradient, self.params = mean_cost_and_gradient, params
        self.index = index.clone()
        # autograd and cuBLAS set themselves up on the first calls, outside any graph, on a side stream
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup_steps):
                self._clear_gradients()
                mean_cost_and_gradient(self.index)
        torch.cuda.current_stream().wait_stream(side)
        self._clear_gradients()  # so the backward pass in the graph allocates .grad in the graph's memory
        self.graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(self.graph):
                self.cost = mean_cost_and_gradient(self.index)
        except RuntimeError as error:
            raise RuntimeError(f"cuda_graph: the training step could not be captured as a CUDA graph (it must "
                               f"not synchronise with the CPU); run without cuda_graph. Cause: {error}") from error

    def _clear_gradients(self) -> None:
        for param in self.params:
            param.grad = None

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        if index.shape != self.index.shape:
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()
            return self.mean_cost_and_gradient(index)
        self.index.copy_(index)
        self.graph.replay()
        return self.cost


class HDPO(Algorithm):
    """Hindsight Differentiable Policy Optimization: pathwise gradients through a differentiable simulator.

    Trains `policy` (an nn.Module mapping observations to actions) on `problem`; the score is the dev cost, and
    the summary reports the best-dev policy's test cost.
    """

    name = "hdpo"
    Config = HDPOConfig
    env_kinds = ("single",)
    built_by_domain = True
    unit = "epochs"
    score_key = "dev_cost"
    higher_is_better = False

    def __init__(self, problem: DifferentiableProblem | None, policy: nn.Module, config: HDPOConfig | None = None,
                 seed: int = 0, env_id: str | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or HDPOConfig()
        self.config.validate()
        self.config.apply_threads()
        self.problem, self.seed = problem, seed
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or {})
        self.device = torch.device(self.config.device)
        seed_everything(seed)
        self.policy = policy.to(self.device)
        self.integer_actions = problem.integer_actions if problem is not None else False
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.config.learning_rate)
        self.epoch, self.best_dev, self.best_epoch, self.last_decay = 0, float("inf"), 0, 0
        self.best_state = copy.deepcopy(self.policy.state_dict())
        self.train_seconds = 0.0
        self.train_set = self.dev_set = self.gradient = None
        self.total = 0

    # --- the trainer's contract ----------------------------------------------------------------------------
    @property
    def progress(self) -> int:
        return self.epoch

    def start(self, total: int) -> None:
        if self.problem is None:
            raise ValueError("this agent was loaded for inference; create it with a problem to train")
        cfg, problem = self.config, self.problem
        self.total = total
        if self.train_set is None:
            self.train_set = problem.sample_scenarios(cfg.train_scenarios, cfg.train_periods, self.seed)
            self.dev_set = problem.sample_scenarios(cfg.dev_scenarios, cfg.dev_periods, self.seed + 1)

    def iterate(self) -> dict[str, float]:
        """One epoch: a gradient step per minibatch of training scenarios."""
        cfg = self.config
        started = time.perf_counter()
        losses = []
        # one generator per epoch, so a resumed run shuffles exactly like an uninterrupted one
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(cfg.train_scenarios, generator=generator).to(self.device)
        for index in order.split(cfg.batch_size):
            if self.gradient is None:  # built on the first minibatch: a CUDA graph captures real data
                self.gradient = self._make_gradient(self.train_set, index)
            losses.append(self.gradient(index).item())
            if not np.isfinite(losses[-1]):  # stop before the update; the last checkpoint stays good
                raise NonFiniteError(f"HDPO training cost became {losses[-1]} in epoch {self.epoch + 1}")
            if cfg.max_grad_norm:
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
        self.epoch += 1
        if cfg.lr_schedule == "cosine":
            self._set_learning_rate(cfg.min_learning_rate + (cfg.learning_rate - cfg.min_learning_rate)
                                    * 0.5 * (1 + math.cos(math.pi * self.epoch / self.total)))
        self.train_seconds += time.perf_counter() - started
        return {"train/cost": float(np.mean(losses)), "train/learning_rate": self.optimizer.param_groups[0]["lr"]}

    def evaluate(self, seed: int) -> dict[str, float]:
        """The dev cost (fixed dev scenarios, so `seed` is unused); keeps the best-dev policy for the test and
        drives the plateau schedule."""
        dev_cost = self._evaluate(self.dev_set, self.config.dev_ignore_periods)
        if dev_cost < self.best_dev:
            self.best_dev, self.best_epoch = dev_cost, self.epoch
            self.best_state = copy.deepcopy(self.policy.state_dict())
        self._schedule_learning_rate()
        result = {"dev_cost": dev_cost}
        optimum = self.problem.reference_costs().get("optimal_cost")
        if optimum:
            result["dev_gap_percent"] = 100 * (dev_cost / optimum - 1)
        return result

    def stop_reason(self) -> str | None:
        cfg = self.config
        if self.epoch - self.best_epoch >= cfg.patience:
            return f"early stop: no better dev cost in {cfg.patience} epochs (best at epoch {self.best_epoch})"
        if cfg.max_seconds and self.train_seconds >= cfg.max_seconds:
            return f"time budget max_seconds={cfg.max_seconds:g} reached"
        return None

    def _make_gradient(self, train: Any, first_index: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """A function of a minibatch's scenario indices that leaves the gradient of its mean training cost in the
        policy's `.grad` and returns that cost: eager autograd, or a replayed CUDA graph with `cuda_graph`."""
        cfg, problem, params = self.config, self.problem, list(self.policy.parameters())

        def mean_cost_and_gradient(index: torch.Tensor) -> torch.Tensor:
            loss = problem.cost(self.policy, problem.subset(train, index), cfg.train_ignore_periods).mean()
            loss.backward()
            return loss.detach()

        if not cfg.cuda_graph:
            def eager(index: torch.Tensor) -> torch.Tensor:
                self.optimizer.zero_grad(set_to_none=True)
                return mean_cost_and_gradient(index)
            return eager
        return CUDAGraphGradient(mean_cost_and_gradient, params, first_index)

    def _schedule_learning_rate(self) -> None:
        """Plateau schedule: decay the learning rate when the dev cost has not improved for lr_patience epochs."""
        cfg = self.config
        if cfg.lr_schedule != "plateau" or self.epoch - max(self.best_epoch, self.last_decay) < cfg.lr_patience:
            return
        self._set_learning_rate(max(self.optimizer.param_groups[0]["lr"] * cfg.lr_decay, cfg.min_learning_rate))
        self.last_decay = self.epoch

    def _set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _evaluate(self, scenarios: Any, ignore: int, test: bool = False) -> float:
        with torch.no_grad():
            return float(self.problem.cost(self.policy, scenarios, ignore, test=test).mean())

    def final_report(self) -> dict[str, Any]:
        """Cost of the best-dev policy (loaded into the agent) on the test scenarios, with the gap to the optimum
        when one is known."""
        cfg = self.config
        self.policy.load_state_dict(self.best_state)
        test = self.problem.sample_scenarios(cfg.test_scenarios, cfg.test_periods, self.seed + 2)
        test_cost = self._evaluate(test, cfg.test_ignore_periods, test=True)
        summary: dict[str, Any] = {"test_cost": test_cost}
        references = self.problem.reference_costs()
        if "optimal_cost" in references:
            summary["optimal_cost"] = references["optimal_cost"]
            summary["gap_to_optimum"] = test_cost / references["optimal_cost"] - 1
        if "lower_bound" in references:
            summary["lower_bound"] = references["lower_bound"]
            summary["gap_to_lower_bound"] = test_cost / references["lower_bound"] - 1
        return summary

    # --- policy protocol -----------------------------------------------------------------------------------
    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        """Actions of the (best-dev, after training) policy for one observation or a batch; rounded where the
        problem's are integers (Poisson demand), as in HDPO's own test."""
        batch, single = check_observation_batch(obs, self.policy.observation_shape)
        with torch.no_grad():
            actions = self.policy(torch.as_tensor(batch, device=self.device))
        actions = (actions.round() if self.integer_actions else actions).cpu().numpy()
        return actions[0] if single else actions

    def checkpoint_state(self) -> dict[str, Any]:
        return {"agent": self.name, "config": config_to_dict(self.config), "seed": self.seed, "env_id": self.env_id,
                "env_kwargs": self.env_kwargs, "policy_module": self.policy, "policy": self.policy.state_dict(),
                "best_state": self.best_state, "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                "best_dev": self.best_dev, "best_epoch": self.best_epoch, "last_decay": self.last_decay,
                "train_seconds": self.train_seconds, "integer_actions": self.integer_actions}

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.best_state, self.epoch = state["best_state"], state["epoch"]
        self.best_dev, self.best_epoch, self.train_seconds = state["best_dev"], state["best_epoch"], state["train_seconds"]
        self.last_decay = state.get("last_decay", 0)
        self.integer_actions = state.get("integer_actions", self.integer_actions)

    def save(self, path: str | Path) -> None:
        atomic_torch_save(self.checkpoint_state(), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "HDPO":
        """An inference-only HDPO agent holding the best-dev policy of a saved run or file."""
        state = load_file(Path(path))
        if state.get("agent") != cls.name:
            raise ValueError(f"{path} holds a {state.get('agent')!r} agent, not {cls.name!r}")
        # acting needs no CUDA graph (it only replays training steps)
        config = make_loaded_config(HDPOConfig, state["config"], {"cuda_graph": False})
        agent = cls(None, state["policy_module"], config, state["seed"], state["env_id"], state["env_kwargs"])
        agent.load_checkpoint_state(state)
        agent.policy.load_state_dict(agent.best_state)
        return agent
