"""Meowjong's CNN for sanma, as a domain network of the backbone (`network: appliedrl.domains.mahjong.network:
MeowjongCNN` in a recipe): the 34 x 151 observation read as 151 feature channels over the 34 tile rows.

Four convolutions over the tile rows (64, 64, 64, 32 filters, kernel 3: a tile and its neighbours), a dense layer
of 256, then the outputs (the 63 action logits, or 1 value). Meowjong's BatchNorm and dropout are left out: PPO's
and REINFORCE's probability ratios and log-probabilities need the same forward pass when acting and learning.
One network answers all five of Meowjong's decisions (discard, pon, kan, kita, riichi): the decision is a column
of the observation and the action mask keeps each decision to its own actions.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from gymnasium import spaces
from torch import nn


class MeowjongCNN(nn.Module):
    def __init__(self, observation_space: spaces.Box, out_dim: int, env: Any = None,
                 filters: Sequence[int] = (64, 64, 64, 32), kernel: int = 3, hidden: int = 256) -> None:
        super().__init__()
        rows, columns = observation_space.shape
        layers: list[nn.Module] = []
        channels = columns
        for width in filters:
            layers += [nn.Conv1d(channels, width, kernel, padding=kernel // 2), nn.ReLU()]
            channels = width
        self.convolutions = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * rows, hidden), nn.ReLU(),
                                  nn.Linear(hidden, out_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.convolutions(obs.transpose(1, 2)))  # [B, 34 rows, C] -> channels first
