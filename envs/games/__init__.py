"""Turn-based board games from PettingZoo, trained one seat at a time through their single-seat Gymnasium views."""
