"""QWeb (Gur et al. 2019): a Q-network over DOM elements and instruction fields, for the composite action
click(element) | type(element, field).

Fields are encoded from the mean word embeddings of their key and value; elements from the mean embeddings of
their text and attributes, their tag and flags, then each element attends over the fields and a bidirectional
LSTM runs along the element sequence (document order). Deep Q-values: type(e, f) from the field–element
products, click(e) from the element, plus a click-or-type term per element. Shallow Q-values come from
word-overlap features (Jaccard of field values and element text, of field keys and element attributes, and
whether the element already holds the value), so rare words such as a held-out name still match; learned
sigmoid gates mix the two. In the deep path, a word of an instruction value is replaced by its field's slot,
wherever it appears (numbers excepted), and words never trained on embed as 0: held-out values then look like
training ones. A field's value keeps its own words' embeddings beside the slot, so a closed-set value that the
page never shows (a criterion such as "cheapest") is still read. Each element also knows whether its number is
the smallest or the largest among elements whose text differs only in the numbers (prices, durations), which
word embeddings cannot compare. Named in the DQN recipe through the backbone's network hook.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from torch import nn

from appliedrl.envs.web.env import FLAGS, NUMBERS, TAGS, VOCAB

SHALLOW_FEATURES = 3  # value–text Jaccard, key–attribute Jaccard, the element holds the value
RANK_FEATURES = 2  # the element's number is its group's smallest, largest (see _extremes)


def _mean_embeddings(embedding: nn.Embedding, *ids: torch.Tensor) -> list[torch.Tensor]:
    """Mean of the non-padding word embeddings of each row of each ids [B, N, T] (one lookup: one gradient)."""
    width = max(i.shape[-1] for i in ids)
    flat = torch.cat([nn.functional.pad(i, (0, width - i.shape[-1])) for i in ids], 1)  # [B, ΣN, T], 0 pads
    present = (flat > 0).unsqueeze(-1).float()
    means = (embedding(flat) * present).sum(-2) / present.sum(-2).clamp(min=1.0)
    return list(means.split([i.shape[1] for i in ids], 1))


def _distinct(ids: torch.Tensor) -> torch.Tensor:
    """Which entries of each row [..., T] are a word's first occurrence (padding 0 is none)."""
    earlier = torch.ones(ids.shape[-1], ids.shape[-1], dtype=torch.bool, device=ids.device).tril(-1)
    repeated = ((ids[..., :, None] == ids[..., None, :]) & earlier).any(-1)
    return (ids > 0) & ~repeated


def _jaccard(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Word overlap |a ∩ b| / |a ∪ b| of the word sets of every row of a [B, E, T] and of b [B, F, U] -> [B, E, F]."""
    first_a, first_b = _distinct(a), _distinct(b)
    same = (a[:, :, None, :, None] == b[:, None, :, None, :]) & first_a[:, :, None, :, None]
    shared = same.any(-1).sum(-1).float()
    union = first_a.sum(-1)[:, :, None] + first_b.sum(-1)[:, None, :] - shared
    return shared / union.clamp(min=1.0)


def _anonymise(ids: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Each word of ids [B, N, T] that is a word of field f's value (values [B, F, U]) becomes the slot id
    VOCAB + f; numbers stay (they are no held-out values). The deep path then sees which field a word fills, not
    the word, so held-out names and words look like training ones."""
    word = values > NUMBERS  # hashed words, not numbers or padding
    hit = ((ids[:, :, :, None, None] == values[:, None, None]) & word[:, None, None]).any(-1)  # [B, N, T, F]
    return torch.where(hit.any(-1), VOCAB + hit.float().argmax(-1).long(), ids)


def _extremes(text: torch.Tensor) -> torch.Tensor:
    """Whether each element's first number is the smallest and the largest of its group [B, E, 2]: the elements
    whose words, numbers aside, are the same ("Book flight for $ 420", "$ 315", ...); groups of one are neither."""
    numeric = (text >= 1) & (text <= NUMBERS)
    has = numeric.any(-1)
    value = torch.gather(text, -1, numeric.long().argmax(-1, keepdim=True)).squeeze(-1)  # the first number
    template = text.masked_fill(numeric, -1)
    group = (template[:, :, None] == template[:, None]).all(-1) & has[:, :, None] & has[:, None, :]  # [B, E, E]
    shared = group.sum(-1) > 1
    below = (group & (value[:, None, :] < value[:, :, None])).any(-1)
    above = (group & (value[:, None, :] > value[:, :, None])).any(-1)
    return torch.stack([shared & ~below, shared & ~above], -1).float()


class QWeb(nn.Module):
    def __init__(self, observation_space: spaces.Dict, out_dim: int, env: Any = None, embedding: int = 32,
                 hidden: int = 64) -> None:
        super().__init__()
        self.elements = observation_space["element_mask"].shape[0]
        self.fields = observation_space["field_mask"].shape[0]
        if out_dim != self.elements * (1 + self.fields):
            raise ValueError(f"QWeb outputs the composite actions of appliedrl/WebNav-v0 "
                             f"({self.elements} × (1 + {self.fields})), not {out_dim}")
        # words, then one slot per field (see _anonymise); words never trained on (held-out ones) stay 0
        self.words = nn.Embedding(VOCAB + self.fields, embedding, padding_idx=0)
        nn.init.zeros_(self.words.weight[:VOCAB])
        self.tags = nn.Embedding(len(TAGS) + 2, embedding, padding_idx=0)
        self.field_encoder = nn.Sequential(nn.Linear(2 * embedding, hidden), nn.Tanh())
        self.element_encoder = nn.Sequential(nn.Linear(3 * embedding + len(FLAGS) + RANK_FEATURES, hidden), nn.Tanh())
        self.attention = nn.Linear(hidden, hidden, bias=False)
        self.lstm = nn.LSTM(2 * hidden, hidden // 2, batch_first=True, bidirectional=True)
        self.field_out = nn.Linear(hidden, hidden)
        self.click_head = nn.Linear(hidden, 1)
        self.kind_head = nn.Linear(hidden, 2)  # click or type, per element
        self.shallow_type = nn.Linear(SHALLOW_FEATURES, 1)
        self.shallow_click = nn.Linear(SHALLOW_FEATURES + len(FLAGS), 1)
        self.gates = nn.Parameter(torch.zeros(2))  # sigmoid: the deep share of click and type Q-values

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        # the LSTM runs over each page's own elements (packed): padding is skipped and scored 0, a masked action
        present = int((obs["element_mask"] > 0.5).sum(-1).max())
        ids = {key: obs[key].long() for key in ("field_keys", "field_values")}
        ids |= {key: obs[key][:, :present].long() for key in ("element_text", "element_attributes", "element_tag")}
        field_mask, flags = obs["field_mask"] > 0.5, obs["element_flags"][:, :present].float()
        keys, slots, values, text, attributes = _mean_embeddings(
            self.words, ids["field_keys"], _anonymise(ids["field_values"], ids["field_values"]),
            ids["field_values"], _anonymise(ids["element_text"], ids["field_values"]), ids["element_attributes"])
        fields = self.field_encoder(torch.cat([keys, slots + values], -1))
        elements = self.element_encoder(torch.cat([text, attributes, self.tags(ids["element_tag"]), flags,
                                                   _extremes(ids["element_text"])], -1))
        scores = self.attention(elements) @ fields.transpose(1, 2)  # [B, E, F]
        scores = scores.masked_fill(~field_mask[:, None, :], -1e9)
        weights = torch.softmax(scores, -1) * field_mask[:, None, :].any(-1, keepdim=True)
        context = weights @ fields
        lengths = (obs["element_mask"] > 0.5).sum(-1).clamp(min=1).cpu()  # pages are a prefix of the padding
        packed = nn.utils.rnn.pack_padded_sequence(torch.cat([elements, context], -1), lengths, batch_first=True,
                                                   enforce_sorted=False)
        elements = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=present)[0]
        elements = torch.tanh(elements)
        deep_type = elements @ self.field_out(fields).transpose(1, 2)  # [B, E, F]
        kind = self.kind_head(elements)
        deep_click = self.click_head(elements).squeeze(-1) + kind[..., 0]
        deep_type = deep_type + kind[..., 1:]

        value_text = _jaccard(ids["element_text"], ids["field_values"])
        key_attributes = _jaccard(ids["element_attributes"], ids["field_keys"])
        holds = (value_text > 0.999).float()
        features = torch.stack([value_text, key_attributes, holds], -1)  # [B, E, F, 3]
        shallow_type = self.shallow_type(features).squeeze(-1)
        best = features.masked_fill(~field_mask[:, None, :, None], 0.0).amax(2)
        shallow_click = self.shallow_click(torch.cat([best, flags], -1)).squeeze(-1)

        click_gate, type_gate = torch.sigmoid(self.gates)
        cut, real = self.elements - present, (obs["element_mask"][:, :present] > 0.5).float()
        click = nn.functional.pad((click_gate * deep_click + (1 - click_gate) * shallow_click) * real, (0, cut))
        typed = type_gate * deep_type + (1 - type_gate) * shallow_type
        typed = nn.functional.pad(typed * real[..., None], (0, 0, 0, cut))
        return torch.cat([click, typed.flatten(1)], -1)
