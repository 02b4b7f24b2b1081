"""Row loops compiled with numba (the optional ``kpiforge[fast]`` extra).

Imported only through :func:`kpiforge.engine.accelerator.loops`, which decides when they
run. Each gives the same result as its numpy equivalent (order statistics are exact). They
release the GIL (``nogil``), so threads run them on every core, and numba caches their
compilation on disk (``cache``). The loop of a whole pass is generated per pass instead
(``fusion.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Quickselect finishes ranges up to this long by insertion sort.
_INSERTION = 24
#: Ranks within this many values of a segment's end are read from its largest (smallest)
#: values, kept while reading it once, instead of by quickselect.
_EXTREMES = 16


@njit(nogil=True, cache=True)
def renumber(codes, numbers):
    """Replace each code with its number, in place."""
    for i in range(len(codes)):
        codes[i] = numbers[codes[i]]


@njit(nogil=True, cache=True)
def place(codes, values, groups, fill, grouped):
    """Write each value at its group's next free slot of ``grouped`` (``fill``); a row's
    group is ``groups[code]``, or its code where ``groups`` is None. With ``fill`` starting
    at each group's first slot, this is a counting sort by group."""
    for i in range(len(codes)):
        group = codes[i] if groups is None else groups[codes[i]]
        grouped[fill[group]] = values[i]
        fill[group] += 1


@njit(nogil=True, cache=True)
def select(grouped, start, ranks):
    """``out[r, j]``: the value of rank ``ranks[r, j]`` (0 = smallest, clipped to the ends)
    in the segment ``grouped[start[j]:start[j + 1]]`` (NaN where it is empty). Each segment
    is ordered just enough to read its ranks."""
    out = np.full(ranks.shape, np.nan)
    scratch = np.empty(_EXTREMES)
    for group in range(ranks.shape[1]):
        segment = grouped[start[group]:start[group + 1]]
        if len(segment):
            _select_ranks(segment, ranks[:, group], out[:, group], scratch)
    return out


@njit(nogil=True, cache=True)
def _select_ranks(segment, ranks, out, scratch):
    """``out[r]``: the value of rank ``ranks[r]`` in ``segment`` (clipped to its ends).
    Ranks near either end (a p90 of a small group) come from the few largest or smallest
    values, kept sorted while the segment is read once; others from quickselect."""
    size = len(segment)
    low, high = size - 1, 0
    for r in range(len(ranks)):
        rank = min(max(ranks[r], 0), size - 1)
        low, high = min(low, rank), max(high, rank)
    if size - low <= _EXTREMES:
        extremes = _largest(segment, scratch[:size - low])
        for r in range(len(ranks)):
            out[r] = extremes[min(max(ranks[r], 0), size - 1) - low]
    elif high < _EXTREMES:
        extremes = _smallest(segment, scratch[:high + 1])
        for r in range(len(ranks)):
            out[r] = extremes[min(max(ranks[r], 0), size - 1)]
    else:
        for r in range(len(ranks)):
            out[r] = _select(segment, min(max(ranks[r], 0), size - 1))


@njit(nogil=True, cache=True)
def _largest(segment, kept):
    """``kept`` filled with the largest values of ``segment``, ascending."""
    count = len(kept)
    kept[:] = segment[:count]
    _insertion_sort(kept)
    for i in range(count, len(segment)):
        value = segment[i]
        if value > kept[0]:
            j = 0
            while j + 1 < count and kept[j + 1] < value:
                kept[j] = kept[j + 1]
                j += 1
            kept[j] = value
    return kept


@njit(nogil=True, cache=True)
def _smallest(segment, kept):
    """``kept`` filled with the smallest values of ``segment``, ascending."""
    count = len(kept)
    kept[:] = segment[:count]
    _insertion_sort(kept)
    for i in range(count, len(segment)):
        value = segment[i]
        if value < kept[count - 1]:
            j = count - 1
            while j > 0 and kept[j - 1] > value:
                kept[j] = kept[j - 1]
                j -= 1
            kept[j] = value
    return kept


@njit(nogil=True, cache=True)
def _insertion_sort(segment):
    for i in range(1, len(segment)):
        value = segment[i]
        j = i - 1
        while j >= 0 and segment[j] > value:
            segment[j + 1] = segment[j]
            j -= 1
        segment[j + 1] = value


@njit(nogil=True, cache=True)
def _select(segment, rank):
    """The value of ``rank`` in ``segment``, reordering it in place (Hoare's quickselect
    with a median-of-three pivot; equal values split evenly, so ties stay fast)."""
    low, high = 0, len(segment) - 1
    while high - low > _INSERTION:
        middle = (low + high) // 2
        a, b, c = segment[low], segment[middle], segment[high]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = low, high
        while i <= j:
            while segment[i] < pivot:
                i += 1
            while segment[j] > pivot:
                j -= 1
            if i <= j:
                segment[i], segment[j] = segment[j], segment[i]
                i += 1
                j -= 1
        if rank <= j:
            high = j
        elif rank >= i:
            low = i
        else:
            return segment[rank]
    _insertion_sort(segment[low:high + 1])
    return segment[rank]
