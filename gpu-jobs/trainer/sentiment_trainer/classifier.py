"""The classifier: an encoder's first-token state, optionally joined with the side features, dropout, a linear head."""

from __future__ import annotations

import torch
from torch import nn

NUM_LABELS = 3


class SentimentClassifier(nn.Module):
    """Logits over NEGATIVE, NEUTRAL, POSITIVE. `n_features` is 0 when the side features are not used."""

    def __init__(self, encoder: nn.Module, hidden_size: int, n_features: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.n_features = n_features
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size + n_features, NUM_LABELS)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        x = hidden[:, 0]
        if self.n_features:
            if features is None:
                raise ValueError("this classifier was built with side features: pass `features`")
            x = torch.cat([x, features.to(x.dtype)], dim=-1)
        return self.head(self.dropout(x))
