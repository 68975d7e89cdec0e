"""Meowjong's CNN for sanma, as a domain network of the backbone (`network: appliedrl.domains.mahjong.network:
MeowjongCNN` in a recipe): the 34 x 157 observation read as 157 feature channels over the 34 tile rows.

Four convolutions over the tile rows (64, 64, 64, 32 filters, kernel 3: a tile and its neighbours), a dense layer
of 256, then the outputs (the 63 action logits, or 1 value). The policy also scores each tile row from its own
convolution features (a 1 x 1 convolution, as in Suphx's fully convolutional discard model) and adds the score to
the logits of discarding that kind (plain and red): comparing candidate discards then needs no detour through
the dense layer, which learns slowly which row belongs to which action. Meowjong's BatchNorm and dropout are left
out: PPO's and REINFORCE's probability ratios and log-probabilities need the same forward pass when acting and
learning.
One network answers all five of Meowjong's decisions (discard, pon, kan, kita, riichi): the decision is a column
of the observation and the action mask keeps each decision to its own actions.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from gymnasium import spaces
from torch import nn

from appliedrl.envs.mahjong import actions as A


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
        self.row_scores = nn.Conv1d(channels, 1, 1) if out_dim == A.N_ACTIONS else None
        discard_rows = [A.kind_of_face(face) for face in range(A.FACES)]
        self.register_buffer("discard_rows", torch.tensor(discard_rows), persistent=False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.convolutions(obs.transpose(1, 2))  # [B, 34 rows, C] -> channels first
        out = self.head(features)
        if self.row_scores is None:
            return out
        scores = self.row_scores(features)[:, 0, self.discard_rows]  # [B, 29]: each discard face's row
        return torch.cat([out[:, :A.DISCARD + A.FACES] + scores, out[:, A.DISCARD + A.FACES:]], 1)
