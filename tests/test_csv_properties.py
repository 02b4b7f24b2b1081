"""Property tests of CSV input: a generated file (headers with spaces, a BOM, a name given
twice, unknown names; cells holding numbers, text, infinities, ISO times, huge integers, missing
markers, quotes and delimiters) computes or ends in a KpiforgeError, never another
exception, each within hypothesis' deadline (the profile in conftest.py). When it computes,
reading it whole and in chunks of two rows agree."""

from __future__ import annotations

import csv
import io

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st

import kpiforge
from kpiforge.errors import KpiforgeError

#: Columns the contact KPIs read, and a few a real export adds.
NAMES = ["arrived_s", "answered_s", "abandoned_s", "handle_s", "acw_s", "resolved_s",
         "channel", "queue", "csat", "escalated", "priority", "Contact Id"]
KPIS = ["offered", "answered", "asa", "aht", "service_level", "wait_p90", "csat"]

headers = st.lists(
    st.builds(lambda name, pad: pad[0] + name + pad[1], st.sampled_from(NAMES),
              st.tuples(st.sampled_from(["", " "]), st.sampled_from(["", " ", "  "]))),
    min_size=1, max_size=7, unique_by=str.strip)
cells = st.one_of(
    st.floats(min_value=0, max_value=2e9, allow_nan=False).map(repr),
    st.integers(min_value=-5, max_value=2**64).map(str),
    st.sampled_from(["", "NA", "nan", "null", "N/A", "inf", "-inf", "Infinity", "1e400",
                     "3_00", "00:05:00", "2024-03-10T01:30:00", "2024-03-10 09:30+09:00",
                     "call", "chat", "email", "Y", "true", '"quoted, comma"', "é"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=6),
)


#: Mostly plain numbers, so that many files get past their first column.
plain = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(repr)


@st.composite
def csv_files(draw) -> str:
    """A CSV file's text: a header (perhaps after a BOM; ``arrived_s`` usually first) and
    1-5 rows of drawn cells, mostly plain numbers."""
    names = draw(headers)
    if "arrived_s" not in map(str.strip, names) and (draw(st.booleans()) or
                                                     draw(st.booleans())):
        names = ["arrived_s", *names]
    if draw(st.integers(0, 9)) == 0:  # a name given twice
        names = [*names, names[0]]
    cell = st.one_of(plain, plain, plain, plain, plain, plain, plain, cells)
    rows = draw(st.lists(st.lists(cell, min_size=len(names), max_size=len(names)),
                         min_size=1, max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows(rows)
    return draw(st.sampled_from(["", "\ufeff"])) + out.getvalue()


def _compute(path, **options):
    return kpiforge.compute(path, kpis=None, **options)


@given(text=csv_files())
def test_a_generated_csv_computes_or_is_a_kpiforge_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "contacts.csv"
    path.write_text(text, encoding="utf-8")
    try:
        whole = _compute(path)
    except KpiforgeError as exc:
        event("a one-line error")
        assert "\n" not in str(exc), str(exc)
        assert str(path) in str(exc) or "column" in str(exc) or "KPI" in str(exc), str(exc)
        return
    event("computed")
    chunked = _compute(path, chunk_rows=2)
    assert whole.kpis.keys() == chunked.kpis.keys()
    for name in whole.kpis:
        np.testing.assert_allclose(whole.values[name], chunked.values[name], rtol=1e-12,
                                   err_msg=name)
