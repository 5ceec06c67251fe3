"""student.py: the 95 % critical values of Student's t match scipy.stats for every whole number
of degrees of freedom the analysis can meet, and nonsense is refused."""

import numpy as np
import pytest
from scipy.stats import t as student_t

from leakhunt.analysis.student import TABLE_DOF, t_critical_95


def test_every_dof_up_to_ten_thousand_matches_scipy_within_one_part_in_ten_million():
    dofs = np.arange(1, 10_001)
    ours = np.array([t_critical_95(int(dof)) for dof in dofs])
    exact = student_t.ppf(0.975, dofs)
    assert np.max(np.abs(ours / exact - 1)) < 1e-7
    # The seam between the table and the expansion, where an off-by-one would show.
    assert t_critical_95(TABLE_DOF) == pytest.approx(student_t.ppf(0.975, TABLE_DOF), rel=1e-9)
    assert t_critical_95(TABLE_DOF + 1) == pytest.approx(student_t.ppf(0.975, TABLE_DOF + 1), rel=1e-7)


@pytest.mark.parametrize("dof", [0, -1, 2.5])
def test_no_interval_without_a_whole_positive_number_of_degrees_of_freedom(dof):
    with pytest.raises(ValueError, match="whole number >= 1"):
        t_critical_95(dof)
