"""Text columns as integer codes plus a label list."""

from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen(eq=False)
class Categorical:
    """A text column: ``codes`` index ``labels``; -1 marks a missing value."""

    codes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def code_of(self, label: str) -> int:
        """The code of ``label``, or -2 (matches no row) when it never occurs."""
        hits = np.flatnonzero(self.labels == label)
        return int(hits[0]) if len(hits) else -2

    def decode(self) -> np.ndarray:
        """Labels per row as an object array, None where missing."""
        out = np.empty(len(self.codes), dtype=object)
        present = self.codes >= 0
        out[present] = self.labels[self.codes[present]]
        return out
