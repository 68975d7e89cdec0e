"""Sanma (three-player riichi mahjong): the rules engine and its PettingZoo / Gymnasium environments."""
