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
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from appliedrl.agents.base import check_observation_batch, seed_everything
from appliedrl.agents.checkpoint import DeferredInterrupt, atomic_torch_save, checkpoint_path, load_file
from appliedrl.agents.config import _check, check_device, check_network, config_to_dict, make_loaded_config
from appliedrl.agents.logger import MetricsLogger
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
class HDPOConfig:
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
    max_epochs: int = 20_000
    eval_every: int = 10  # epochs between dev evaluations (and checkpoints)
    patience: int = 500  # stop after this many epochs without a better dev cost
    max_seconds: float = 0.0  # stop after this much training time; 0 = no limit
    max_grad_norm: float = 0.0  # 0 = no clipping
    # constant | plateau (multiply by lr_decay after lr_patience epochs without a better dev cost) |
    # cosine (anneal from learning_rate to min_learning_rate over max_epochs)
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
    tensorboard: bool = True
    device: str = "cpu"
    torch_threads: int = 0  # 0 = torch's default (all cores): the simulator works on large batches

    def validate(self) -> None:
        _check(self.learning_rate > 0, "learning_rate must be > 0")
        _check(1 <= self.batch_size, "batch_size must be >= 1")
        _check(self.train_scenarios >= 1 and self.dev_scenarios >= 1 and self.test_scenarios >= 1,
               "train_scenarios, dev_scenarios and test_scenarios must be >= 1")
        for split in ("train", "dev", "test"):
            periods, ignore = getattr(self, f"{split}_periods"), getattr(self, f"{split}_ignore_periods")
            _check(0 <= ignore < periods, f"{split}_ignore_periods must be in [0, {split}_periods)")
        _check(self.max_epochs >= 1 and self.eval_every >= 1 and self.patience >= 1,
               "max_epochs, eval_every and patience must be >= 1")
        _check(self.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of: {', '.join(LR_SCHEDULES)}")
        _check(0 < self.lr_decay < 1, "lr_decay must be in (0, 1)")
        _check(self.lr_patience >= 1, "lr_patience must be >= 1")
        _check(self.min_learning_rate > 0, "min_learning_rate must be > 0")
        _check(self.lr_schedule == "constant" or self.min_learning_rate <= self.learning_rate,
               "min_learning_rate must be <= learning_rate")
        check_network(self.net_arch, self.activation)
        _check(not (self.cuda_graph and self.compile), "cuda_graph and compile are alternatives: choose one")
        _check(not self.cuda_graph or self.device.startswith("cuda"), "cuda_graph needs device cuda, not cpu")
        check_device(self.device)


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


class HDPO:
    """Hindsight Differentiable Policy Optimization: pathwise gradients through a differentiable simulator.

    Trains `policy` (an nn.Module mapping observations to actions) on `problem`.
    """

    name = "hdpo"
    Config = HDPOConfig

    def __init__(self, problem: DifferentiableProblem | None, policy: nn.Module, config: HDPOConfig | None = None,
                 seed: int = 0, env_id: str | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or HDPOConfig()
        self.config.validate()
        if self.config.torch_threads:
            torch.set_num_threads(self.config.torch_threads)
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

    # --- training ------------------------------------------------------------------------------------------
    def learn(self, run_dir: str | Path | None = None, progress_bar: bool = True, resume: bool = False) -> dict[str, Any]:
        """Train until early stopping or a budget runs out, test the best-dev policy, return the summary."""
        cfg, problem = self.config, self.problem
        run_dir = Path(run_dir) if run_dir is not None else None
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            if resume:
                self._load_checkpoint(load_file(checkpoint_path(run_dir)))
        logger = MetricsLogger(run_dir, cfg.tensorboard, self.epoch if resume else None) if run_dir else None
        train = problem.sample_scenarios(cfg.train_scenarios, cfg.train_periods, self.seed)
        dev = problem.sample_scenarios(cfg.dev_scenarios, cfg.dev_periods, self.seed + 1)
        optimum = problem.reference_costs().get("optimal_cost")
        progress = Progress(TextColumn("[bold]hdpo"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[dev]}"),
                            TimeElapsedColumn(), disable=not progress_bar)
        gradient = None  # built on the first minibatch: a CUDA graph captures real data
        start = time.perf_counter() - self.train_seconds
        try:
            with progress, DeferredInterrupt() as interrupt:
                task = progress.add_task("epochs", total=cfg.max_epochs, completed=self.epoch, dev="dev: -")
                while self.epoch < cfg.max_epochs:
                    losses = []
                    # one generator per epoch, so a resumed run shuffles exactly like an uninterrupted one
                    generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
                    order = torch.randperm(cfg.train_scenarios, generator=generator).to(self.device)
                    for index in order.split(cfg.batch_size):
                        if gradient is None:
                            gradient = self._make_gradient(train, index)
                        losses.append(gradient(index).item())
                        if not np.isfinite(losses[-1]):  # stop before the update; the last checkpoint stays good
                            raise NonFiniteError(f"HDPO training cost became {losses[-1]} in epoch {self.epoch + 1}")
                        if cfg.max_grad_norm:
                            nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                        self.optimizer.step()
                    self.epoch += 1
                    if cfg.lr_schedule == "cosine":
                        self._set_learning_rate(cfg.min_learning_rate + (cfg.learning_rate - cfg.min_learning_rate)
                                                * 0.5 * (1 + math.cos(math.pi * self.epoch / cfg.max_epochs)))
                    self.train_seconds = time.perf_counter() - start
                    metrics = {"train/cost": float(np.mean(losses)), "time/seconds": self.train_seconds}
                    stop = cfg.max_seconds and self.train_seconds >= cfg.max_seconds
                    if self.epoch % cfg.eval_every == 0 or stop or self.epoch == cfg.max_epochs:
                        dev_cost = self._evaluate(dev, cfg.dev_ignore_periods)
                        metrics["dev/cost"] = dev_cost
                        if optimum:
                            metrics["dev/gap_percent"] = 100 * (dev_cost / optimum - 1)
                        if dev_cost < self.best_dev:
                            self.best_dev, self.best_epoch = dev_cost, self.epoch
                            self.best_state = copy.deepcopy(self.policy.state_dict())
                        self._schedule_learning_rate()
                        metrics["train/learning_rate"] = self.optimizer.param_groups[0]["lr"]
                        progress.update(task, dev=f"dev: {dev_cost:.4f} (best {self.best_dev:.4f})")
                        if run_dir is not None:
                            self._save_checkpoint(run_dir)
                        stop = stop or self.epoch - self.best_epoch >= cfg.patience
                    if logger is not None:
                        logger.log(self.epoch, metrics)
                    progress.update(task, completed=self.epoch)
                    interrupt.stop_if_requested(lambda: self._save_checkpoint(run_dir), run_dir)
                    if stop:
                        break
        finally:
            if logger is not None:
                logger.close()
        if run_dir is not None:  # before test() loads the best-dev weights: a resumed run goes on from the last ones
            self._save_checkpoint(run_dir)
        summary = self.test()
        if run_dir is not None:
            (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

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

    def test(self) -> dict[str, Any]:
        """Cost of the best-dev policy on the test scenarios, with the gap to the optimum when one is known."""
        cfg = self.config
        self.policy.load_state_dict(self.best_state)
        test = self.problem.sample_scenarios(cfg.test_scenarios, cfg.test_periods, self.seed + 2)
        test_cost = self._evaluate(test, cfg.test_ignore_periods, test=True)
        summary: dict[str, Any] = {"agent": self.name, "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                                   "seed": self.seed, "epochs": self.epoch, "best_epoch": self.best_epoch,
                                   "dev_cost": self.best_dev, "test_cost": test_cost,
                                   "train_seconds": round(self.train_seconds, 2)}
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

    def _save_checkpoint(self, run_dir: Path) -> None:
        atomic_torch_save(self._checkpoint(), checkpoint_path(run_dir))

    def _checkpoint(self) -> dict[str, Any]:
        return {"agent": self.name, "config": config_to_dict(self.config), "seed": self.seed, "env_id": self.env_id,
                "env_kwargs": self.env_kwargs, "policy_module": self.policy, "policy": self.policy.state_dict(),
                "best_state": self.best_state, "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                "best_dev": self.best_dev, "best_epoch": self.best_epoch, "last_decay": self.last_decay,
                "train_seconds": self.train_seconds, "integer_actions": self.integer_actions}

    def _load_checkpoint(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.best_state, self.epoch = state["best_state"], state["epoch"]
        self.best_dev, self.best_epoch, self.train_seconds = state["best_dev"], state["best_epoch"], state["train_seconds"]
        self.last_decay = state.get("last_decay", 0)
        self.integer_actions = state.get("integer_actions", self.integer_actions)

    def save(self, path: str | Path) -> None:
        atomic_torch_save(self._checkpoint(), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "HDPO":
        """An inference-only HDPO agent holding the best-dev policy of a saved run or file."""
        state = load_file(Path(path))
        if state.get("agent") != cls.name:
            raise ValueError(f"{path} holds a {state.get('agent')!r} agent, not {cls.name!r}")
        # acting needs no CUDA graph (it only replays training steps)
        config = make_loaded_config(HDPOConfig, state["config"], {"cuda_graph": False})
        agent = cls(None, state["policy_module"], config, state["seed"], state["env_id"], state["env_kwargs"])
        agent._load_checkpoint(state)
        agent.policy.load_state_dict(agent.best_state)
        return agent
